data "aws_partition" "current" {}

locals {
  # Names and ARNs from the configuration rather than read from the buckets: known at plan time, so
  # the plan of a first deploy shows which bucket each setting and policy is for, and the policies
  # whole (what the reviewer approves, and what tests/infra/test_least_privilege.py checks).
  bucket_names = { for key, bucket in var.buckets : key => "${var.name_prefix}-${key}" }
  bucket_arns  = { for key, name in local.bucket_names : key => "arn:${data.aws_partition.current.partition}:s3:::${name}" }

  cors_buckets        = { for key, bucket in var.buckets : key => bucket if length(bucket.cors_allowed_origins) > 0 }
  eventbridge_buckets = { for key, bucket in var.buckets : key => bucket if bucket.eventbridge_notifications }
}

resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV_AWS_18:Server access logging needs a separate log bucket per account; CloudTrail data events are the audit trail for these buckets.
  #checkov:skip=CKV_AWS_144:Cross-region replication is a disaster-recovery choice per environment, not a default of this module.
  #checkov:skip=CKV2_AWS_62:Only buckets whose writes start processing send notifications (uploads); a write to originals or derived must never trigger anything.
  for_each = var.buckets

  bucket        = local.bucket_names[each.key]
  force_destroy = var.force_destroy
  tags          = merge(var.tags, { LogicalName = each.key })
}

resource "aws_s3_bucket_public_access_block" "this" {
  for_each = var.buckets

  bucket                  = aws_s3_bucket.this[each.key].bucket
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "this" {
  for_each = var.buckets

  bucket = aws_s3_bucket.this[each.key].bucket

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  for_each = var.buckets

  bucket = aws_s3_bucket.this[each.key].bucket

  rule {
    bucket_key_enabled = true

    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
  }
}

# Always on: a version id is what makes "which upload is this" unambiguous in the uploads bucket, and
# overwritten originals and renditions stay recoverable until the noncurrent-version rule expires them.
resource "aws_s3_bucket_versioning" "this" {
  for_each = var.buckets

  bucket = aws_s3_bucket.this[each.key].bucket

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  for_each = var.buckets

  bucket = aws_s3_bucket.this[each.key].bucket

  rule {
    id     = "abort-incomplete-multipart-uploads"
    status = "Enabled"

    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = var.abort_incomplete_multipart_upload_days
    }
  }

  rule {
    id     = "expire-noncurrent-versions"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days = each.value.noncurrent_version_expiration_days
    }

    # Once its noncurrent versions are gone, a lone delete marker is removed too.
    expiration {
      expired_object_delete_marker = true
    }
  }

  dynamic "rule" {
    for_each = each.value.expire_current_after_days == null ? [] : [each.value.expire_current_after_days]

    content {
      id     = "expire-current-objects"
      status = "Enabled"

      filter {}

      expiration {
        days = rule.value
      }
    }
  }

  # A rule with an empty filter applies to the whole bucket; the rules must exist after versioning.
  depends_on = [aws_s3_bucket_versioning.this]
}

data "aws_iam_policy_document" "this" {
  for_each = var.buckets

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [local.bucket_arns[each.key], "${local.bucket_arns[each.key]}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }

  dynamic "statement" {
    for_each = length(each.value.deny_object_writes_from) > 0 ? [each.value.deny_object_writes_from] : []

    content {
      sid       = "DenyObjectWritesFromTheseRoles"
      effect    = "Deny"
      actions   = ["s3:PutObject"]
      resources = ["${local.bucket_arns[each.key]}/*"]

      principals {
        type        = "*"
        identifiers = ["*"]
      }

      condition {
        test     = "ArnLike"
        variable = "aws:PrincipalArn"
        values   = statement.value
      }
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  for_each = var.buckets

  bucket = aws_s3_bucket.this[each.key].bucket
  policy = data.aws_iam_policy_document.this[each.key].json

  # S3 rejects a bucket policy while the public access block is being written.
  depends_on = [aws_s3_bucket_public_access_block.this]
}

resource "aws_s3_bucket_cors_configuration" "this" {
  for_each = local.cors_buckets

  bucket = aws_s3_bucket.this[each.key].bucket

  cors_rule {
    allowed_methods = ["POST", "PUT"]
    allowed_origins = each.value.cors_allowed_origins
    allowed_headers = ["*"]
    expose_headers  = ["ETag", "x-amz-version-id"]
    max_age_seconds = var.cors_max_age_seconds
  }
}

resource "aws_s3_bucket_notification" "this" {
  for_each = local.eventbridge_buckets

  bucket      = aws_s3_bucket.this[each.key].bucket
  eventbridge = true
}
