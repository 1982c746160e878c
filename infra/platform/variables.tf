variable "environment" {
  description = "Deployment environment; names are prefixed \"media-<environment>-\" and SSM parameters live under /media-pipeline/<environment>/."
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

variable "enable_schema_registry" {
  description = "Publish the event contracts to an EventBridge Schema Registry."
  type        = bool
  default     = true
}

variable "archive_retention_days" {
  description = "Days the bus archive keeps events for replay (0 = indefinitely)."
  type        = number
  default     = 30
}

variable "upload_allowed_origins" {
  description = "Browser origins allowed to POST/PUT uploads straight to the uploads bucket (CORS): the web page's https:// origin (plain http only on loopback, for the local stack). Empty, the default: no browser uploads, in any environment that does not name its page."
  type        = list(string)
  default     = []

  validation {
    condition = alltrue([
      for origin in var.upload_allowed_origins :
      can(regex("^https://[^/*]+$", origin)) || can(regex("^http://(localhost|127\\.0\\.0\\.1)(:([0-9]+|\\*))?$", origin))
    ])
    error_message = "Each upload origin is https://<host>[:port] (no path, no wildcard host), or http://localhost / http://127.0.0.1 with an optional port or :* for the local stack."
  }
}

variable "uploads_expiration_days" {
  description = "Days after which objects still in the uploads bucket are deleted (ingest moves accepted and rejected files out; anything left is a leftover)."
  type        = number
  default     = 7
}

variable "noncurrent_version_expiration_days" {
  description = "Days a noncurrent object version is kept in each bucket."
  type        = number
  default     = 30
}

variable "abort_incomplete_multipart_upload_days" {
  description = "Days after which unfinished multipart uploads are aborted, in every bucket."
  type        = number
  default     = 1
}

variable "force_destroy_buckets" {
  description = "Let terraform destroy buckets that still hold objects (throwaway environments only)."
  type        = bool
  default     = false
}
