"""The thumbnailer service."""
