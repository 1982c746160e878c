# What is particular to the metadata extractor; the rest of the root is infra/service-root/ (linked).
locals {
  service  = "metadata-extractor"
  handler  = "metadata_extractor.handler.lambda_handler"
  defaults = { memory_size = 512, timeout = 30, batch_size = 10 }

  platform_parameters = ["buckets/originals/name", "buckets/originals/arn"]
  rule_bus            = null
  rule_detail         = {}

  # Idempotent by construction (a function of the bytes): no idempotency table.
  uses_idempotency = false

  environment_variables = {
    ORIGINALS_BUCKET = local.platform["buckets/originals/name"]
    INCLUDE_GPS      = var.include_gps ? "true" : "false"
  }

  # Reads originals only (local.read_originals: infra/service-root/service.tf); it writes
  # nothing but events.
  policy_statements = local.read_originals
}
