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
  description = "The function's zip. null: build/lambda/indexer.zip at the repository root (what `make package` writes)."
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
  default     = 256
}

variable "timeout" {
  description = "Function timeout in seconds (the queue's visibility timeout is 6x this)."
  type        = number
  default     = 30

  validation {
    # The publication claim lasts 2x the timeout (PUBLISH_LEASE_SECONDS), the queue's visibility
    # timeout 6x: a delivery that meets a fresh claim is retried after the claim has expired.
    condition     = var.timeout >= 3 && var.timeout <= 900
    error_message = "timeout must be from 3 to 900 seconds (Lambda's maximum)."
  }
}

variable "batch_size" {
  description = "Most messages per invocation."
  type        = number
  default     = 10
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

variable "index_table_deletion_protection" {
  description = "Refuse to delete the asset index table (turn off only to tear down a throwaway environment)."
  type        = bool
  default     = true
}

variable "http_api" {
  description = <<-EOT
    The gallery's read API (API Gateway HTTP API + Lambda); null: none. Same settings as ingest's
    upload API, so one access token works for both:
    - jwt_issuer: the OIDC issuer URL (https://...) the tokens' iss names;
    - jwt_audience: accepted aud / client_id values (the web page's client id);
    - cors_allowed_origins: origins of the web page when it is served from another origin than the API.
  EOT
  type = object({
    jwt_issuer           = string
    jwt_audience         = list(string)
    cors_allowed_origins = optional(list(string), [])
  })
  default = null
}

variable "read_api_operator_scope" {
  description = "The JWT scope (in the token's scope/scp claim) with which the read API lists and reads every owner's assets; every such read is logged with the caller. null: no caller has it, each sees only their own."
  type        = string
  default     = null

  validation {
    condition     = var.read_api_operator_scope == null || can(regex("^[A-Za-z0-9._:/-]+$", var.read_api_operator_scope))
    error_message = "read_api_operator_scope must be one scope token: letters, digits and . _ : / -."
  }
}

variable "thumbnail_url_expires_seconds" {
  description = "How long the read API's presigned thumbnail URLs stay valid, in seconds."
  type        = number
  default     = 900

  validation {
    condition     = var.thumbnail_url_expires_seconds >= 60 && var.thumbnail_url_expires_seconds <= 3600
    error_message = "thumbnail_url_expires_seconds must be 60-3600."
  }
}
