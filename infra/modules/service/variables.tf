variable "environment" {
  description = "Deployment environment (dev, prod, local, ...); every name is prefixed \"media-<environment>-\"."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,15}$", var.environment))
    error_message = "environment must be 1-16 characters of lower-case letters, digits and '-', starting with a letter."
  }
}

variable "service_name" {
  description = "The service's name, e.g. \"thumbnailer\": POWERTOOLS_SERVICE_NAME and the last part of every resource name."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,29}$", var.service_name))
    error_message = "service_name must be 2-30 characters of lower-case letters, digits and '-', starting with a letter."
  }
}

variable "handler" {
  description = "Lambda handler entry point, e.g. \"thumbnailer.handler.lambda_handler\"."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z_][A-Za-z0-9_.]*\\.[A-Za-z_][A-Za-z0-9_]*$", var.handler))
    error_message = "handler must look like <module path>.<function>, e.g. thumbnailer.handler.lambda_handler."
  }
}

variable "artifact_path" {
  description = "Path of the function's zip (built by the project's packaging); its SHA-256 becomes source_code_hash."
  type        = string

  validation {
    condition     = fileexists(var.artifact_path)
    error_message = "artifact_path does not point at a file: build the service's zip first (make package)."
  }
}

variable "runtime" {
  description = "Lambda runtime."
  type        = string
  default     = "python3.12"

  validation {
    condition     = can(regex("^python3\\.1[2-9]$", var.runtime))
    error_message = "runtime must be a Python 3.12+ Lambda runtime, e.g. python3.12."
  }
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
  description = "Memory of the function in MB (CPU grows with it)."
  type        = number
  default     = 512

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240
    error_message = "memory_size must be between 128 and 10240 MB."
  }
}

variable "timeout" {
  description = "Function timeout in seconds. The queue's visibility timeout is derived from it (6x plus the batching window)."
  type        = number
  default     = 30

  validation {
    condition     = var.timeout >= 1 && var.timeout <= 900
    error_message = "timeout must be between 1 and 900 seconds."
  }
}

variable "environment_variables" {
  description = "The service's own environment variables. The module always sets POWERTOOLS_SERVICE_NAME, POWERTOOLS_METRICS_NAMESPACE, EVENT_BUS_NAME, DLQ_URL and (with the idempotency table) IDEMPOTENCY_TABLE; those names are reserved."
  type        = map(string)
  default     = {}

  validation {
    condition = length(setintersection(keys(var.environment_variables), [
      "POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "EVENT_BUS_NAME", "DLQ_URL", "IDEMPOTENCY_TABLE",
    ])) == 0
    error_message = "environment_variables must not set POWERTOOLS_SERVICE_NAME, POWERTOOLS_METRICS_NAMESPACE, EVENT_BUS_NAME, DLQ_URL or IDEMPOTENCY_TABLE: the module sets them."
  }
}

variable "event_bus_name" {
  description = "Name of the bus the service publishes to (EVENT_BUS_NAME)."
  type        = string
}

variable "event_bus_arn" {
  description = "ARN of the bus the service publishes to: the only target of its events:PutEvents permission."
  type        = string

  validation {
    condition     = can(regex("^arn:[a-z-]+:events:[a-z0-9-]+:[0-9]{12}:event-bus/.+$", var.event_bus_arn))
    error_message = "event_bus_arn must be an EventBridge event bus ARN."
  }
}

variable "rules" {
  description = "EventBridge rules that feed the service's queue, by logical name: the bus each rule is on and its event pattern (JSON)."
  type = map(object({
    event_bus_name = string
    event_pattern  = string
    description    = optional(string)
  }))

  validation {
    condition     = length(var.rules) > 0
    error_message = "A service needs at least one rule to feed its queue."
  }

  validation {
    condition     = alltrue([for key, rule in var.rules : can(regex("^[a-z0-9][a-z0-9-]{0,30}$", key)) && can(jsondecode(rule.event_pattern))])
    error_message = "Rule keys are 1-31 characters of lower-case letters, digits and '-', and every event_pattern must be JSON."
  }
}

variable "policy_statements" {
  description = "The service's own IAM statements (buckets, tables, ...), by Sid. The module adds only what every service needs: its log group, its queue, its DLQ, PutEvents on event_bus_arn, X-Ray, and its idempotency table."
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

  validation {
    condition     = alltrue([for sid, statement in var.policy_statements : can(regex("^[A-Za-z0-9]+$", sid)) && contains(["Allow", "Deny"], statement.effect)])
    error_message = "Statement keys are IAM Sids (letters and digits only) and effect is Allow or Deny."
  }

  validation {
    condition     = alltrue([for statement in values(var.policy_statements) : !contains(statement.resources, "*") && !contains(statement.actions, "*")])
    error_message = "Least privilege: name the actions and the resources; \"*\" is not accepted here."
  }
}

variable "batch_size" {
  description = "Most SQS messages handed to one invocation."
  type        = number
  default     = 10

  validation {
    condition     = var.batch_size >= 1 && var.batch_size <= 10000
    error_message = "batch_size must be between 1 and 10000."
  }
}

variable "maximum_batching_window_in_seconds" {
  description = "How long the event source mapping gathers messages before invoking (required to be at least 1 when batch_size > 10)."
  type        = number
  default     = 0

  validation {
    condition     = var.maximum_batching_window_in_seconds >= 0 && var.maximum_batching_window_in_seconds <= 300
    error_message = "maximum_batching_window_in_seconds must be between 0 and 300."
  }
}

variable "maximum_concurrency" {
  description = "Most concurrent invocations the SQS event source mapping may run (scaling_config.maximum_concurrency)."
  type        = number
  default     = 5

  validation {
    condition     = var.maximum_concurrency >= 2 && var.maximum_concurrency <= 1000
    error_message = "maximum_concurrency must be between 2 and 1000 (the SQS event source mapping's limits)."
  }
}

variable "max_receive_count" {
  description = "Deliveries of one message before SQS redrives it to the DLQ."
  type        = number
  default     = 5

  validation {
    condition     = var.max_receive_count >= 1 && var.max_receive_count <= 1000
    error_message = "max_receive_count must be between 1 and 1000."
  }
}

variable "message_retention_seconds" {
  description = "How long the queue keeps a message (the DLQ keeps them 14 days)."
  type        = number
  default     = 345600

  validation {
    condition     = var.message_retention_seconds >= 60 && var.message_retention_seconds <= 1209600
    error_message = "message_retention_seconds must be between 60 and 1209600."
  }
}

variable "log_retention_days" {
  description = "Retention of the function's log group, in days (one of the values CloudWatch Logs accepts)."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653."
  }
}

variable "create_idempotency_table" {
  description = "Create a DynamoDB table for Powertools Idempotency (key \"id\", TTL on \"expiration\", PITR, encrypted), pass its name as IDEMPOTENCY_TABLE and allow the role on it only."
  type        = bool
  default     = false
}

variable "alarm_actions" {
  description = "ARNs (e.g. SNS topics) notified when the DLQ holds messages or the function errors, and again when that clears. Required outside the local environment: an alarm nobody hears is no alarm."
  type        = list(string)
  default     = []
}

variable "target_maximum_event_age_seconds" {
  description = "How long EventBridge retries delivering a matched event to the service's queue before parking it in the DLQ (60 s to 24 h)."
  type        = number
  default     = 86400

  validation {
    condition     = var.target_maximum_event_age_seconds >= 60 && var.target_maximum_event_age_seconds <= 86400
    error_message = "target_maximum_event_age_seconds must be from 60 to 86400."
  }
}

variable "function_errors_threshold" {
  description = "The function-errors alarm fires when the sum of Errors over 5 minutes exceeds this."
  type        = number
  default     = 0
}

variable "tags" {
  description = "Tags for every resource that takes them."
  type        = map(string)
  default     = {}
}
