# What is particular to ingest; the rest of the root is infra/service-root/ (linked).
locals {
  service  = "ingest"
  handler  = "ingest.handler.lambda_handler"
  defaults = { memory_size = 1024, timeout = 60, batch_size = 5 }

  platform_parameters = [
    "buckets/uploads/name",
    "buckets/uploads/arn",
    "buckets/originals/name",
    "buckets/originals/arn",
  ]
  uploads_arn   = local.platform["buckets/uploads/arn"]
  originals_arn = local.platform["buckets/originals/arn"]

  # S3 sends "Object Created" to the account's default bus. The pattern files hold what does not
  # change per environment; the uploads bucket's name is merged into their detail here.
  rule_bus    = "default"
  rule_detail = { bucket = { name = [local.platform["buckets/uploads/name"]] } }

  # Powertools Idempotency on each upload (ingest/logic.py): IDEMPOTENCY_TABLE.
  uses_idempotency = true

  environment_variables = {
    UPLOADS_BUCKET   = local.platform["buckets/uploads/name"]
    ORIGINALS_BUCKET = local.platform["buckets/originals/name"]
    MAX_UPLOAD_BYTES = tostring(var.max_upload_bytes)
    MAX_IMAGE_PIXELS = tostring(var.max_image_pixels)
  }

  # Reads an upload, moves it (copy to originals/ or quarantine/, then delete the upload's version),
  # and never writes to the uploads bucket: that is what makes a processing loop impossible.
  policy_statements = {
    ReadUploads = {
      actions   = ["s3:GetObject", "s3:GetObjectVersion"]
      resources = ["${local.uploads_arn}/*"]
    }
    # Without it a second delivery of an upload already moved would read as AccessDenied, not NoSuchKey.
    ListUploads = {
      actions   = ["s3:ListBucket"]
      resources = [local.uploads_arn]
    }
    RemoveMovedUploads = {
      actions   = ["s3:DeleteObject", "s3:DeleteObjectVersion"]
      resources = ["${local.uploads_arn}/*"]
    }
    # Copy (single or multipart), then HEAD the copy before deleting the upload; a duplicate delivery
    # recovers the facts of an upload already moved from the copy's metadata.
    WriteOriginalsAndQuarantine = {
      actions   = ["s3:PutObject", "s3:AbortMultipartUpload", "s3:GetObject"]
      resources = ["${local.originals_arn}/originals/*", "${local.originals_arn}/quarantine/*"]
    }
    # Find an earlier rejection; and a HEAD of a missing key answers 404 rather than 403.
    ListOriginalsAndQuarantine = {
      actions   = ["s3:ListBucket"]
      resources = [local.originals_arn]
      conditions = [{
        test     = "StringLike"
        variable = "s3:prefix"
        values   = ["originals/*", "quarantine/*"]
      }]
    }
    NeverWriteUploads = {
      effect    = "Deny"
      actions   = ["s3:PutObject"]
      resources = ["${local.uploads_arn}/*"]
    }
  }
}
