data "aws_iam_policy_document" "assume_role" {
  statement {
    sid     = "LambdaAssumesTheRole"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_iam_role" "this" {
  name = local.name
  # Every service role of an environment shares this path, so a bucket policy can refuse them all
  # (the uploads bucket does: no service may write there).
  path               = "/media-pipeline/${var.environment}/services/"
  description        = "Execution role of ${local.name}: its own log group, queue, DLQ, bus, tracing, and the statements its root passes."
  assume_role_policy = data.aws_iam_policy_document.assume_role.json
  tags               = var.tags
}

data "aws_iam_policy_document" "this" {
  #checkov:skip=CKV_AWS_111:The only write without a resource constraint is X-Ray's PutTraceSegments/PutTelemetryRecords, which support no resource-level permissions.
  #checkov:skip=CKV_AWS_356:Only the X-Ray actions use "*", and they accept no other resource.
  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${local.log_group_arn}:*"]
  }

  statement {
    sid     = "ConsumeOwnQueue"
    actions = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]
    # The computed ARN (not the resource's) lets the policy, and so the function, be created while the
    # queue is still being confirmed by the provider.
    resources = [local.queue_arn]
  }

  statement {
    sid       = "ParkPermanentFailuresInOwnDlq"
    actions   = ["sqs:SendMessage"]
    resources = [local.dlq_arn]
  }

  # Under its own source only (media.<service>): EventBridge checks events:source for every entry,
  # so no service can publish as another (a forged media.ingest AssetIngested, say).
  statement {
    sid       = "PublishToTheBusAsItself"
    actions   = ["events:PutEvents"]
    resources = [var.event_bus_arn]

    condition {
      test     = "StringEquals"
      variable = "events:source"
      values   = ["media.${var.service_name}"]
    }
  }

  statement {
    sid       = "Tracing"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }

  dynamic "statement" {
    for_each = var.create_idempotency_table ? [local.idempotency_table_arn] : []

    content {
      sid       = "IdempotencyRecords"
      actions   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]
      resources = [statement.value]
    }
  }

  dynamic "statement" {
    for_each = var.policy_statements

    content {
      sid       = statement.key
      effect    = statement.value.effect
      actions   = statement.value.actions
      resources = statement.value.resources

      dynamic "condition" {
        for_each = statement.value.conditions

        content {
          test     = condition.value.test
          variable = condition.value.variable
          values   = condition.value.values
        }
      }
    }
  }
}

resource "aws_iam_role_policy" "this" {
  name   = local.name
  role   = aws_iam_role.this.name
  policy = data.aws_iam_policy_document.this.json
}
