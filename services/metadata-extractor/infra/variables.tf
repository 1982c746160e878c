variable "include_gps" {
  description = "Publish GPS coordinates found in EXIF (INCLUDE_GPS). Off by default: location is personal data."
  type        = bool
  default     = false
}
