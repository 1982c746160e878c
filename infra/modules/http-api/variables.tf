variable "environment" {
  description = "Deployment environment (dev, prod, local, ...); every name is prefixed \"media-<environment>-\"."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,15}$", var.environment))
    error_message = "environment must be 1-16 characters of lower-case letters, digits and '-', starting with a letter."
  }
}

variable "service_name" {
  description = "The service that owns the API, e.g. \"ingest\": POWERTOOLS_SERVICE_NAME and the middle part of every name."
  type        = string
}

variable "name" {
  description = "The API's own name within its service, e.g. \"upload-api\": resources are named \"media-<environment>-<service_name>-<name>\"."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,23}$", var.name))
    error_message = "name must be 1-24 characters of lower-case letters, digits and '-', starting with a letter."
  }
}

variable "handler" {
  description = "Lambda handler entry point of the API's function, e.g. \"ingest.upload_api.lambda_handler\"."
  type        = string
}

variable "artifact_path" {
  description = "Path of the function's zip (the service's artifact); its SHA-256 becomes source_code_hash."
  type        = string
}

variable "runtime" {
  description = "Lambda runtime."
  type        = string
  default     = "python3.12"
}

variable "architecture" {
  description = "Instruction set of the function; must match the platform its dependencies were built for."
  type        = string
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "architecture must be x86_64 or arm64."
  }
}

variable "memory_size" {
  description = "Memory of the function in MB."
  type        = number
  default     = 256
}

variable "timeout" {
  description = "Function timeout in seconds; API Gateway waits at most 30 s for an integration, so more is pointless."
  type        = number
  default     = 10

  validation {
    condition     = var.timeout >= 1 && var.timeout <= 30
    error_message = "timeout must be 1-30 seconds (API Gateway's integration limit)."
  }
}

variable "environment_variables" {
  description = "The function's own environment variables. POWERTOOLS_SERVICE_NAME and POWERTOOLS_METRICS_NAMESPACE are set by the module."
  type        = map(string)
  default     = {}
}

variable "iam_path" {
  description = "IAM path of the function's role, e.g. \"/media-pipeline/dev/services/\". Bucket policies key on it: the uploads bucket refuses object writes to every role under /media-pipeline/<environment>/services/, so a role that signs uploads must live elsewhere."
  type        = string

  validation {
    condition     = can(regex("^/([A-Za-z0-9+=,.@_-]+/)*$", var.iam_path))
    error_message = "iam_path must start and end with '/'."
  }
}

variable "policy_statements" {
  description = "The function's own IAM statements, by Sid. The module adds only its log group and X-Ray."
  type = map(object({
    effect    = optional(string, "Allow")
    actions   = list(string)
    resources = list(string)
    conditions = optional(list(object({
      test     = string
      variable = string
      values   = list(string)
    })), [])
  }))
  default = {}
}

variable "routes" {
  description = "The API's routes, keyed by route key (\"POST /uploads\", \"GET /assets/{asset_id}\"), all to the one function, all behind the JWT authorizer; authorization_scopes: OAuth scopes the access token must carry (empty: any valid token)."
  type = map(object({
    authorization_scopes = optional(list(string), [])
  }))

  validation {
    condition     = length(var.routes) > 0 && alltrue([for key in keys(var.routes) : can(regex("^(GET|POST|PUT|PATCH|DELETE|HEAD) /[A-Za-z0-9_{}./+-]*$", key))])
    error_message = "routes must be a non-empty map keyed by \"<METHOD> /<path>\" (no $default, no ANY: each route is granted explicitly)."
  }
}

variable "jwt_authorizer" {
  description = "The identity provider whose tokens the API accepts: issuer (the tokens' iss, an OIDC issuer URL whose discovery document names its JWKS) and audience (accepted aud or client_id values)."
  type = object({
    issuer   = string
    audience = list(string)
  })

  validation {
    condition     = length(var.jwt_authorizer.audience) > 0 && can(regex("^https://", var.jwt_authorizer.issuer))
    error_message = "jwt_authorizer needs an https:// issuer and at least one audience."
  }
}

variable "cors_allowed_origins" {
  description = "Browser origins allowed to call the API from another origin (the web page's). Empty: no CORS configuration."
  type        = list(string)
  default     = []
}

variable "throttling_burst_limit" {
  description = "Most concurrent requests the API's stage accepts before answering 429."
  type        = number
  default     = 50
}

variable "throttling_rate_limit" {
  description = "Steady-state requests per second the API's stage accepts before answering 429."
  type        = number
  default     = 20
}

variable "log_retention_days" {
  description = "Retention of the function's and the stage's access log groups, in days."
  type        = number
  default     = 30
}

variable "tags" {
  description = "Tags for every resource that takes them."
  type        = map(string)
  default     = {}
}
