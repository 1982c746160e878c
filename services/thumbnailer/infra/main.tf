locals {
  service       = "thumbnailer"
  platform_path = "/media-pipeline/${var.environment}/platform"
  artifact_path = coalesce(var.artifact_path, "${path.root}/../../../build/lambda/${local.service}.zip")
  platform      = { for key, parameter in data.aws_ssm_parameter.platform : key => parameter.insecure_value }

  rules = {
    for file in fileset("${path.module}/rules", "*.json") : trimsuffix(file, ".json") => {
      event_bus_name = local.platform["event-bus-name"]
      event_pattern  = jsonencode(jsondecode(file("${path.module}/rules/${file}")))
    }
  }
}

# The only coupling to the platform: its published parameters.
data "aws_ssm_parameter" "platform" {
  for_each = toset([
    "event-bus-name",
    "event-bus-arn",
    "buckets/originals/name",
    "buckets/originals/arn",
    "buckets/derived/name",
    "buckets/derived/arn",
  ])

  name = "${local.platform_path}/${each.key}"
}

module "service" {
  source = "../../../infra/modules/service"

  environment   = var.environment
  service_name  = local.service
  handler       = "thumbnailer.handler.lambda_handler"
  artifact_path = local.artifact_path
  architecture  = var.architecture
  memory_size   = var.memory_size
  timeout       = var.timeout

  event_bus_name = local.platform["event-bus-name"]
  event_bus_arn  = local.platform["event-bus-arn"]
  rules          = local.rules

  environment_variables = {
    ORIGINALS_BUCKET = local.platform["buckets/originals/name"]
    DERIVED_BUCKET   = local.platform["buckets/derived/name"]
    THUMBNAIL_SIZES  = join(",", [for size in var.thumbnail_sizes : tostring(size)])
    THUMBNAIL_FORMAT = var.thumbnail_format
    # AVIF beside the main format, per deployment ("" for none)
    THUMBNAIL_EXTRA_FORMATS = join(",", var.thumbnail_extra_formats)
    THUMBNAIL_QUALITY       = tostring(var.thumbnail_quality)
    MAX_IMAGE_PIXELS        = tostring(var.max_image_pixels)
  }

  policy_statements = {
    ReadOriginals = {
      actions   = ["s3:GetObject", "s3:GetObjectVersion"]
      resources = ["${local.platform["buckets/originals/arn"]}/originals/*"]
    }
    # A missing original then answers 404 (parked as original_missing) rather than 403 (retried).
    ListOriginals = {
      actions   = ["s3:ListBucket"]
      resources = [local.platform["buckets/originals/arn"]]
      conditions = [{
        test     = "StringLike"
        variable = "s3:prefix"
        values   = ["originals/*"]
      }]
    }
    WriteThumbnails = {
      actions   = ["s3:PutObject"]
      resources = ["${local.platform["buckets/derived/arn"]}/thumbnails/*"]
    }
  }

  batch_size               = var.batch_size
  maximum_concurrency      = var.maximum_concurrency
  max_receive_count        = var.max_receive_count
  log_retention_days       = var.log_retention_days
  create_idempotency_table = var.enable_idempotency
  alarm_actions            = var.alarm_actions
}
