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
  description = "The function's zip. null: build/lambda/ingest.zip at the repository root (what `make package` writes)."
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
  default     = 1024
}

variable "timeout" {
  description = "Function timeout in seconds (the queue's visibility timeout is 6x this)."
  type        = number
  default     = 60
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

variable "http_api" {
  description = <<-EOT
    The browser-facing upload API (API Gateway HTTP API + Lambda); null: none. Its routes accept only
    access tokens of one identity provider (JWT authorizer):
    - jwt_issuer: the OIDC issuer URL (https://...) the tokens' iss names, e.g. a Cognito user pool's;
    - jwt_audience: accepted aud / client_id values (the web page's client id);
    - cors_allowed_origins: origins of the web page when it is served from another origin than the API.
    The indexer's read API takes the same settings, so one token works for both.
  EOT
  type = object({
    jwt_issuer           = string
    jwt_audience         = list(string)
    cors_allowed_origins = optional(list(string), [])
  })
  default = null
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
