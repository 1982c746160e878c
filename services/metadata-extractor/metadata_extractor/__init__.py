"""The metadata-extractor service."""
