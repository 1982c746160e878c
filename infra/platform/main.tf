data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  name       = "media-${var.environment}"
  ssm_prefix = "/media-pipeline/${var.environment}/platform"
}

module "event_bus" {
  source = "../modules/event-bus"

  name                   = local.name
  archive_retention_days = var.archive_retention_days
  enable_schema_registry = var.enable_schema_registry
  schemas_dir            = "${path.module}/../../schemas"
}

module "buckets" {
  source = "../modules/buckets"

  # Bucket names are global: the account id keeps each environment's names unique.
  name_prefix                            = "${local.name}-${data.aws_caller_identity.current.account_id}"
  abort_incomplete_multipart_upload_days = var.abort_incomplete_multipart_upload_days
  force_destroy                          = var.force_destroy_buckets

  buckets = {
    uploads = {
      expire_current_after_days          = var.uploads_expiration_days
      noncurrent_version_expiration_days = var.noncurrent_version_expiration_days
      cors_allowed_origins               = var.upload_allowed_origins
      eventbridge_notifications          = true
      # No service may write here: that is what makes a processing loop impossible, not just unlikely.
      # Every service role of the environment lives under the IAM path /media-pipeline/<environment>/services/.
      deny_object_writes_from = ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:role/media-pipeline/${var.environment}/services/*"]
    }
    originals = {
      noncurrent_version_expiration_days = var.noncurrent_version_expiration_days
    }
    derived = {
      noncurrent_version_expiration_days = var.noncurrent_version_expiration_days
    }
  }
}

################################################################################
# The uploads' events, archived: S3 sends them to the account's default bus (where ingest's rule
# takes them), which the media bus's archive does not see. This archive keeps the uploads bucket's
# "Object Created" events for the same retention, so `mediactl replay --uploads` can put a window
# of uploads back on the default bus, to ingest (idempotent per upload version), just as
# `mediactl replay` does for the media bus. Only this bucket's events: the default bus is the
# account's, shared with whatever else runs there.
################################################################################

locals {
  default_bus_arn = "arn:${data.aws_partition.current.partition}:events:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:event-bus/default"
}

resource "aws_cloudwatch_event_archive" "uploads" {
  name             = substr("${local.name}-uploads-archive", 0, 48)
  description      = "The ${module.buckets.bucket_names["uploads"]} bucket's Object Created events on the default bus, kept for replay."
  event_source_arn = local.default_bus_arn
  retention_days   = var.archive_retention_days
  event_pattern = jsonencode({
    source        = ["aws.s3"]
    "detail-type" = ["Object Created"]
    detail        = { bucket = { name = [module.buckets.bucket_names["uploads"]] } }
  })
}

################################################################################
# Service discovery: what a service root may read, under /media-pipeline/<environment>/platform/
################################################################################

locals {
  parameters = merge(
    {
      "event-bus-name" = { value = module.event_bus.event_bus_name, description = "Name of the media event bus." }
      "event-bus-arn"  = { value = module.event_bus.event_bus_arn, description = "ARN of the media event bus." }
      # For the operator CLI (mediactl replay --uploads); no service reads it.
      "archives/uploads/name" = { value = aws_cloudwatch_event_archive.uploads.name, description = "Name of the archive of the uploads bucket's events on the default bus." }
    },
    merge([
      for bucket in ["uploads", "originals", "derived"] : {
        "buckets/${bucket}/name" = { value = module.buckets.bucket_names[bucket], description = "Name of the ${bucket} bucket." }
        "buckets/${bucket}/arn"  = { value = module.buckets.bucket_arns[bucket], description = "ARN of the ${bucket} bucket." }
      }
    ]...),
  )
}

resource "aws_ssm_parameter" "this" {
  #checkov:skip=CKV2_AWS_34:Resource names and ARNs, not secrets: plain String parameters any service root can read without kms:Decrypt.
  for_each = local.parameters

  name        = "${local.ssm_prefix}/${each.key}"
  description = each.value.description
  type        = "String"
  value       = each.value.value
}
