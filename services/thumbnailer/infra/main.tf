# What is particular to the thumbnailer; the rest of the root is infra/service-root/ (linked).
locals {
  service  = "thumbnailer"
  handler  = "thumbnailer.handler.lambda_handler"
  defaults = { memory_size = 1536, timeout = 120, batch_size = 5 }

  platform_parameters = [
    "buckets/originals/name",
    "buckets/originals/arn",
    "buckets/derived/name",
    "buckets/derived/arn",
  ]
  rule_bus    = null
  rule_detail = {}

  # Idempotent by construction (same keys, same renditions): no idempotency table.
  uses_idempotency = false

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

  # Reads originals (local.read_originals: infra/service-root/service.tf), writes thumbnails.
  policy_statements = merge(local.read_originals, {
    WriteThumbnails = {
      actions   = ["s3:PutObject"]
      resources = ["${local.platform["buckets/derived/arn"]}/thumbnails/*"]
    }
  })
}
