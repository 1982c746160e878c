variable "max_upload_bytes" {
  description = "Largest upload ingest accepts (MAX_UPLOAD_BYTES); larger ones are rejected as too large."
  type        = number
  default     = 52428800

  validation {
    condition     = var.max_upload_bytes >= 1
    error_message = "max_upload_bytes must be at least 1."
  }
}

variable "max_image_pixels" {
  description = "Most pixels an image may decode to (MAX_IMAGE_PIXELS); more is rejected as a decompression bomb."
  type        = number
  default     = 100000000

  validation {
    condition     = var.max_image_pixels >= 1
    error_message = "max_image_pixels must be at least 1."
  }
}

variable "upload_key_prefix" {
  description = "Prefix of every key the upload API presigns (incoming/<random>/<file name>); its role may write nothing else."
  type        = string
  default     = "incoming/"

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]*/$", var.upload_key_prefix))
    error_message = "upload_key_prefix must be lower-case letters, digits and '-', ending with '/'."
  }
}

variable "upload_url_expires_seconds" {
  description = "How long a presigned POST stays valid, in seconds."
  type        = number
  default     = 300

  validation {
    condition     = var.upload_url_expires_seconds >= 30 && var.upload_url_expires_seconds <= 900
    error_message = "upload_url_expires_seconds must be 30-900 (minutes, not hours)."
  }
}
