variable "thumbnail_sizes" {
  description = "Longest edge, in pixels, of each thumbnail rendered (THUMBNAIL_SIZES)."
  type        = list(number)
  default     = [256, 512, 1024]

  validation {
    condition     = length(var.thumbnail_sizes) > 0 && alltrue([for size in var.thumbnail_sizes : size >= 1 && floor(size) == size])
    error_message = "thumbnail_sizes must list one or more positive whole numbers of pixels."
  }
}

variable "thumbnail_format" {
  description = "Format of the thumbnails (THUMBNAIL_FORMAT)."
  type        = string
  default     = "webp"

  validation {
    condition     = contains(["webp", "jpeg"], var.thumbnail_format)
    error_message = "thumbnail_format must be webp or jpeg."
  }
}

variable "thumbnail_extra_formats" {
  description = "Formats made beside thumbnail_format for every size (THUMBNAIL_EXTRA_FORMATS): [\"avif\"] or none."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for format in var.thumbnail_extra_formats : contains(["avif"], format)])
    error_message = "thumbnail_extra_formats may only name avif."
  }
}

variable "thumbnail_quality" {
  description = "Encoder quality of the thumbnails, 1-100 (THUMBNAIL_QUALITY)."
  type        = number
  default     = 80

  validation {
    condition     = var.thumbnail_quality >= 1 && var.thumbnail_quality <= 100
    error_message = "thumbnail_quality must be between 1 and 100."
  }
}

variable "max_image_pixels" {
  description = "Most pixels an original may decode to (MAX_IMAGE_PIXELS)."
  type        = number
  default     = 100000000

  validation {
    condition     = var.max_image_pixels >= 1
    error_message = "max_image_pixels must be at least 1."
  }
}
