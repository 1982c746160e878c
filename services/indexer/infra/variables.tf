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
