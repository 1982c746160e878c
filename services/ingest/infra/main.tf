locals {
  service       = "ingest"
  platform_path = "/media-pipeline/${var.environment}/platform"
  artifact_path = coalesce(var.artifact_path, "${path.root}/../../../build/lambda/${local.service}.zip")
  platform      = { for key, parameter in data.aws_ssm_parameter.platform : key => parameter.insecure_value }

  uploads_arn   = local.platform["buckets/uploads/arn"]
  originals_arn = local.platform["buckets/originals/arn"]

  # S3 sends "Object Created" to the account's default bus. The pattern files hold what does not
  # change per environment; the uploads bucket's name is merged in here.
  rules = {
    for file in fileset("${path.module}/rules", "*.json") : trimsuffix(file, ".json") => {
      event_bus_name = "default"
      event_pattern = jsonencode(merge(
        jsondecode(file("${path.module}/rules/${file}")),
        {
          detail = merge(
            try(jsondecode(file("${path.module}/rules/${file}")).detail, {}),
            { bucket = { name = [local.platform["buckets/uploads/name"]] } },
          )
        },
      ))
    }
  }
}

# The only coupling to the platform: its published parameters.
data "aws_ssm_parameter" "platform" {
  for_each = toset([
    "event-bus-name",
    "event-bus-arn",
    "buckets/uploads/name",
    "buckets/uploads/arn",
    "buckets/originals/name",
    "buckets/originals/arn",
  ])

  name = "${local.platform_path}/${each.key}"
}

module "service" {
  source = "../../../infra/modules/service"

  environment   = var.environment
  service_name  = local.service
  handler       = "ingest.handler.lambda_handler"
  artifact_path = local.artifact_path
  architecture  = var.architecture
  memory_size   = var.memory_size
  timeout       = var.timeout

  event_bus_name = local.platform["event-bus-name"]
  event_bus_arn  = local.platform["event-bus-arn"]
  rules          = local.rules

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

  batch_size               = var.batch_size
  maximum_concurrency      = var.maximum_concurrency
  max_receive_count        = var.max_receive_count
  log_retention_days       = var.log_retention_days
  create_idempotency_table = var.enable_idempotency
  alarm_actions            = var.alarm_actions
}
