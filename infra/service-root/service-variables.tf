# The variables every service root takes. memory_size, timeout and batch_size default to the
# service's own values (local.defaults in its main.tf); the service's own knobs are in its
# variables.tf.

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
  description = "The function's zip. null: build/lambda/<service>.zip at the repository root (what `make package` writes)."
  type        = string
  default     = null
}

variable "architecture" {
  description = "Instruction set of the function (x86_64 or arm64); must match the platform the zip's dependencies were built for."
  type        = string
  default     = "x86_64"
}

variable "memory_size" {
  description = "Memory of the function in MB. null: the service's default (local.defaults in its main.tf)."
  type        = number
  default     = null
}

variable "timeout" {
  description = "Function timeout in seconds (the queue's visibility timeout is 6x this). null: the service's default."
  type        = number
  default     = null
}

variable "batch_size" {
  description = "Most messages per invocation. null: the service's default."
  type        = number
  default     = null
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
  description = "Create the Powertools Idempotency table and pass it as IDEMPOTENCY_TABLE, for a service whose code uses it (local.uses_idempotency in its main.tf; ingest only). false: none, even there."
  type        = bool
  default     = true
}

variable "alarm_actions" {
  description = "ARNs notified by the DLQ-not-empty and function-errors alarms."
  type        = list(string)
  default     = []
}

variable "http_api" {
  description = <<-EOT
    The service's browser-facing API (API Gateway HTTP API + Lambda: ingest's upload API, the
    indexer's read API), for the services that have one; null: none. Its routes accept only access
    tokens of one identity provider (JWT authorizer), the same for every service's API, so one
    token works for all:
    - jwt_issuer: the OIDC issuer URL (https://...) the tokens' iss names, e.g. a Cognito user pool's;
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
