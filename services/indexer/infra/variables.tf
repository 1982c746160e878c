variable "index_table_deletion_protection" {
  description = "Refuse to delete the asset index table (turn off only to tear down a throwaway environment)."
  type        = bool
  default     = true
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

variable "read_api_operator_scope" {
  description = "The JWT scope (in the token's scope/scp claim) with which the read API lists and reads every owner's assets; every such read is logged with the caller. null: no caller has it, each sees only their own."
  type        = string
  default     = null

  validation {
    condition     = var.read_api_operator_scope == null || can(regex("^[A-Za-z0-9._:/-]+$", var.read_api_operator_scope))
    error_message = "read_api_operator_scope must be one scope token: letters, digits and . _ : / -."
  }
}

variable "reconcile_every_minutes" {
  description = "How often the scheduled reconciler runs, in minutes (reconciler.tf); its alarm's period is twice this."
  type        = number
  default     = 30

  validation {
    condition     = var.reconcile_every_minutes >= 1 && var.reconcile_every_minutes <= 720 && floor(var.reconcile_every_minutes) == var.reconcile_every_minutes
    error_message = "reconcile_every_minutes must be a whole number of minutes from 1 to 720."
  }
}

variable "reconcile_stuck_after_minutes" {
  description = "An upload not in a terminal state this long after it was made counts as stuck. Longer than the slowest retry path (a queue's visibility timeout times its max_receive_count)."
  type        = number
  default     = 120

  validation {
    condition     = var.reconcile_stuck_after_minutes >= 0 && floor(var.reconcile_stuck_after_minutes) == var.reconcile_stuck_after_minutes
    error_message = "reconcile_stuck_after_minutes must be a whole number of minutes, 0 or more."
  }
}

variable "reconcile_lookback_hours" {
  description = "How far back the reconciler looks for uploads (default a week, the uploads bucket's default expiry). Each run lists the uploads bucket and the originals' prefixes: see indexer/reconciliation.py for the cost."
  type        = number
  default     = 168

  validation {
    condition     = var.reconcile_lookback_hours >= 1 && floor(var.reconcile_lookback_hours) == var.reconcile_lookback_hours
    error_message = "reconcile_lookback_hours must be a whole number of hours, at least 1."
  }
}

variable "reconcile_timeout" {
  description = "Timeout of one reconciliation run, in seconds."
  type        = number
  default     = 300

  validation {
    condition     = var.reconcile_timeout >= 10 && var.reconcile_timeout <= 900
    error_message = "reconcile_timeout must be 10-900 seconds."
  }
}
