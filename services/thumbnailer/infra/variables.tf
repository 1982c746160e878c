variable "environment" {
  description = "Deployment environment; names are prefixed \"media-<environment>-\" and the platform's SSM parameters are read from /media-pipeline/<environment>/platform/."
  type        = string
  default     = "dev"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,15}$", var.environment))
    error_message = "environment must be 1-16 characters of lower-case letters, digits and '-', starting with a letter."
  }
}

variable "aws_region" {
  description = "AWS region of the environment."
  type        = string
  default     = "us-east-1"
}

variable "s3_use_path_style" {
  description = "Address S3 buckets by path instead of virtual host (needed by local S3 endpoints such as a moto server)."
  type        = bool
  default     = false
}

variable "artifact_path" {
  description = "The function's zip. null: build/lambda/thumbnailer.zip at the repository root (what `make package` writes)."
  type        = string
  default     = null
}

variable "architecture" {
  description = "Instruction set of the function (x86_64 or arm64); must match the platform the zip's dependencies were built for."
  type        = string
  default     = "x86_64"
}

variable "memory_size" {
  description = "Memory of the function in MB."
  type        = number
  default     = 1536
}

variable "timeout" {
  description = "Function timeout in seconds (the queue's visibility timeout is 6x this)."
  type        = number
  default     = 120
}

variable "batch_size" {
  description = "Most messages per invocation."
  type        = number
  default     = 5
}

variable "maximum_concurrency" {
  description = "Most concurrent invocations the event source mapping may run."
  type        = number
  default     = 5
}

variable "max_receive_count" {
  description = "Deliveries of a message before SQS moves it to the DLQ."
  type        = number
  default     = 5
}

variable "log_retention_days" {
  description = "Retention of the function's log group, in days."
  type        = number
  default     = 30
}

variable "enable_idempotency" {
  description = "Create the Powertools Idempotency table and pass it as IDEMPOTENCY_TABLE."
  type        = bool
  default     = true
}

variable "alarm_actions" {
  description = "ARNs notified by the DLQ-not-empty and function-errors alarms."
  type        = list(string)
  default     = []
}

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
