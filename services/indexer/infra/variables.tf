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
