variable "name_prefix" {
  description = "Prefix of every bucket name; a bucket is named \"<name_prefix>-<logical name>\". Bucket names are global, so include something unique such as the account id."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,40}$", var.name_prefix))
    error_message = "name_prefix must be 2-41 characters of lower-case letters, digits, '.' and '-', starting with a letter or digit."
  }
}

variable "buckets" {
  description = <<-EOT
    The buckets, keyed by logical name (e.g. uploads, originals, derived); every bucket is versioned:
    - expire_current_after_days: delete current objects this many days after creation (null: never), e.g. to clear upload leftovers;
    - noncurrent_version_expiration_days: delete overwritten and deleted versions this many days after they stop being current;
    - cors_allowed_origins: origins allowed to POST/PUT straight from a browser (presigned uploads); empty: no CORS rule;
    - eventbridge_notifications: send this bucket's S3 events to the account's default EventBridge bus;
    - deny_object_writes_from: IAM principal ARN patterns (ArnLike) the bucket policy forbids to write objects,
      e.g. every service role of the environment on the uploads bucket, so no service output can ever trigger processing.
  EOT
  type = map(object({
    expire_current_after_days          = optional(number)
    noncurrent_version_expiration_days = optional(number, 30)
    cors_allowed_origins               = optional(list(string), [])
    eventbridge_notifications          = optional(bool, false)
    deny_object_writes_from            = optional(list(string), [])
  }))

  validation {
    condition     = alltrue([for key in keys(var.buckets) : can(regex("^[a-z0-9][a-z0-9-]{0,20}$", key))])
    error_message = "Bucket keys are logical names of 1-21 lower-case letters, digits and '-'."
  }

  validation {
    condition = alltrue([
      for bucket in values(var.buckets) :
      (bucket.expire_current_after_days == null || try(bucket.expire_current_after_days >= 1, false)) &&
      bucket.noncurrent_version_expiration_days >= 1
    ])
    error_message = "Expiration periods are whole days, at least 1."
  }
}

variable "abort_incomplete_multipart_upload_days" {
  description = "Days after which an unfinished multipart upload is aborted and its parts deleted (every bucket)."
  type        = number
  default     = 1

  validation {
    condition     = var.abort_incomplete_multipart_upload_days >= 1
    error_message = "abort_incomplete_multipart_upload_days must be at least 1."
  }
}

variable "kms_key_arn" {
  description = "KMS key for SSE-KMS. null uses the AWS managed key aws/s3 (no key policy to maintain, no extra IAM for the services)."
  type        = string
  default     = null
}

variable "cors_max_age_seconds" {
  description = "How long browsers may cache the CORS preflight answer."
  type        = number
  default     = 3000
}

variable "force_destroy" {
  description = "Let terraform destroy buckets that still hold objects. Keep false outside throwaway environments."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags for every bucket."
  type        = map(string)
  default     = {}
}
