# What is particular to the indexer; the rest of the root is infra/service-root/ (linked).
locals {
  service  = "indexer"
  handler  = "indexer.handler.lambda_handler"
  defaults = { memory_size = 256, timeout = 30, batch_size = 10 }

  # The buckets are the scheduled reconciler's (reconciler.tf); the indexer itself reads no bucket.
  platform_parameters = [
    "buckets/uploads/name",
    "buckets/uploads/arn",
    "buckets/originals/name",
    "buckets/originals/arn",
  ]
  rule_bus    = null
  rule_detail = {}

  # Idempotent by its conditional merges (indexer/logic.py): no idempotency table.
  uses_idempotency = false

  # Built from the name rather than read from the table: known at plan time, so the role policies
  # that name the table are whole in the plan of a first deploy.
  index_table_name = "media-${var.environment}-asset-index"
  index_table_arn  = "arn:${data.aws_partition.current.partition}:dynamodb:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:table/${local.index_table_name}"

  environment_variables = {
    INDEX_TABLE = aws_dynamodb_table.index.name
    # A publish claim outlives any invocation (the timeout) and expires before the queue makes a
    # message visible again (6x the timeout): indexer/logic.py.
    PUBLISH_LEASE_SECONDS = tostring(2 * local.function.timeout)
  }

  # What the indexer's code uses (README-table.md): conditional UpdateItem merges and GetItem, on the
  # table only; it never queries the indexes, puts or deletes whole items.
  policy_statements = {
    MergeIntoTheIndex = {
      actions   = ["dynamodb:GetItem", "dynamodb:UpdateItem"]
      resources = [local.index_table_arn]
    }
  }
}

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

################################################################################
# The asset index: owned by the indexer, written by nobody else.
# Shape agreed with the indexer's code in README-table.md.
################################################################################

resource "aws_dynamodb_table" "index" {
  #checkov:skip=CKV_AWS_119:Encrypted with the AWS managed key; the index holds asset facts (sizes, formats, EXIF without GPS by default), not secrets.
  name                        = local.index_table_name
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "asset_id"
  deletion_protection_enabled = var.index_table_deletion_protection

  attribute {
    name = "asset_id"
    type = "S"
  }

  attribute {
    name = "status"
    type = "S"
  }

  attribute {
    name = "updated_at"
    type = "S"
  }

  attribute {
    name = "camera"
    type = "S"
  }

  attribute {
    name = "taken_at"
    type = "S"
  }

  attribute {
    name = "taken_year"
    type = "S"
  }

  attribute {
    name = "owner"
    type = "S"
  }

  attribute {
    name = "owner_listing"
    type = "S"
  }

  global_secondary_index {
    name            = "by_status"
    hash_key        = "status"
    range_key       = "updated_at"
    projection_type = "ALL"
  }

  global_secondary_index {
    name            = "by_camera"
    hash_key        = "camera"
    range_key       = "taken_at"
    projection_type = "ALL"
  }

  global_secondary_index {
    name            = "by_taken"
    hash_key        = "taken_year"
    range_key       = "taken_at"
    projection_type = "ALL"
  }

  # One owner's assets in one status, newest first: owner_listing = "<status>#<updated_at>".
  global_secondary_index {
    name            = "by_owner"
    hash_key        = "owner"
    range_key       = "owner_listing"
    projection_type = "ALL"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled = true
  }
}

resource "aws_ssm_parameter" "index_table" {
  #checkov:skip=CKV2_AWS_34:A table name and ARN, not secrets: plain String parameters readers can use without kms:Decrypt.
  for_each = {
    name = aws_dynamodb_table.index.name
    arn  = aws_dynamodb_table.index.arn
  }

  name        = "/media-pipeline/${var.environment}/indexer/index-table/${each.key}"
  description = "The ${each.key} of the asset index table (owned by the indexer)."
  type        = "String"
  value       = each.value
}
