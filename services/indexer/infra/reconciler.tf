################################################################################
# The scheduled reconciler: every reconcile_every_minutes, an EventBridge schedule runs
# indexer.reconcile_handler (the same zip), which accounts for the uploads of the last
# reconcile_lookback_hours with the code behind `mediactl reconcile` (indexer/reconciliation.py)
# and publishes how many are older than reconcile_stuck_after_minutes and not in a terminal state
# (indexed, rejected, failed) as the metric MediaPipeline/UploadsStuck. The alarm fires when any is,
# and when the reconciler has not reported for two of its periods (missing data is breaching).
# Reads only: the index's by_status index, the uploads bucket's versions, originals/ and
# quarantine/ of the originals bucket (listing, and HEAD of a copy the index does not know).
################################################################################

locals {
  reconciler_name      = "media-${var.environment}-indexer-reconciler"
  reconciler_service   = "indexer-reconciler"
  reconciler_partition = data.aws_partition.current.partition
  reconciler_region    = data.aws_region.current.name
  reconciler_account   = data.aws_caller_identity.current.account_id
  # ARNs built from names (known at plan time, like infra/modules/service does).
  reconciler_log_group     = "/aws/lambda/${local.reconciler_name}"
  reconciler_log_group_arn = "arn:${local.reconciler_partition}:logs:${local.reconciler_region}:${local.reconciler_account}:log-group:${local.reconciler_log_group}"
  reconciler_rule_name     = "${local.reconciler_name}-schedule"
  reconciler_rule_arn      = "arn:${local.reconciler_partition}:events:${local.reconciler_region}:${local.reconciler_account}:rule/${local.reconciler_rule_name}"
  reconciler_dlq_name      = "${local.reconciler_name}-dlq"
  reconciler_dlq_arn       = "arn:${local.reconciler_partition}:sqs:${local.reconciler_region}:${local.reconciler_account}:${local.reconciler_dlq_name}"
  reconciler_schedule      = var.reconcile_every_minutes == 1 ? "rate(1 minute)" : "rate(${var.reconcile_every_minutes} minutes)"
  # Two runs per alarm period: one late run is not a missing datapoint.
  reconciler_alarm_period = 2 * 60 * var.reconcile_every_minutes
}

data "aws_iam_policy_document" "reconciler_assume_role" {
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
      values   = [local.reconciler_account]
    }
  }
}

resource "aws_iam_role" "reconciler" {
  name = local.reconciler_name
  # The services' path: the uploads bucket refuses every role under it any write.
  path               = "/media-pipeline/${var.environment}/services/"
  description        = "Execution role of ${local.reconciler_name}: reads the index, the uploads' versions and the originals' listing; writes nothing but its logs and traces."
  assume_role_policy = data.aws_iam_policy_document.reconciler_assume_role.json
}

data "aws_iam_policy_document" "reconciler" {
  #checkov:skip=CKV_AWS_111:The only write without a resource constraint is X-Ray's PutTraceSegments/PutTelemetryRecords, which support no resource-level permissions.
  #checkov:skip=CKV_AWS_356:Only the X-Ray actions use "*", and they accept no other resource.
  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${local.reconciler_log_group_arn}:*"]
  }

  statement {
    sid       = "Tracing"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }

  statement {
    sid       = "QueryTheIndexByStatus"
    actions   = ["dynamodb:Query"]
    resources = ["${local.index_table_arn}/index/by_status"]
  }

  statement {
    sid       = "ListTheUploadsVersions"
    actions   = ["s3:ListBucketVersions"]
    resources = [local.platform["buckets/uploads/arn"]]
  }

  statement {
    sid       = "ListTheCopies"
    actions   = ["s3:ListBucket"]
    resources = [local.platform["buckets/originals/arn"]]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["originals/*", "quarantine/*"]
    }
  }

  # HEAD of a copy the index does not know, for the upload it came from (its metadata).
  statement {
    sid       = "ReadTheCopiesMetadata"
    actions   = ["s3:GetObject"]
    resources = ["${local.platform["buckets/originals/arn"]}/originals/*", "${local.platform["buckets/originals/arn"]}/quarantine/*"]
  }
}

resource "aws_iam_role_policy" "reconciler" {
  name   = local.reconciler_name
  role   = aws_iam_role.reconciler.name
  policy = data.aws_iam_policy_document.reconciler.json
}

resource "aws_cloudwatch_log_group" "reconciler" {
  #checkov:skip=CKV_AWS_158:Logs are encrypted by CloudWatch Logs by default; a customer managed key is an account-level choice.
  #checkov:skip=CKV_AWS_338:Retention is the root's log_retention_days (default 30 days), like every service's logs.
  name              = local.reconciler_log_group
  retention_in_days = var.log_retention_days
}

resource "aws_lambda_function" "reconciler" {
  #checkov:skip=CKV_AWS_116:A failed run is seen twice without one: the errors alarm, and the UploadsStuck alarm's missing data; the next run does the same work again.
  #checkov:skip=CKV_AWS_117:The function calls only AWS APIs (S3, DynamoDB); a VPC would add NAT or endpoints and no protection.
  #checkov:skip=CKV_AWS_115:One run per schedule period, each shorter than it; reserving account concurrency is an account-level choice.
  #checkov:skip=CKV_AWS_173:The environment holds names and numbers only, no secrets; Lambda encrypts it at rest with its AWS managed key.
  #checkov:skip=CKV_AWS_272:Code signing needs a signing profile per account; artifacts are built reproducibly by the project and pinned by source_code_hash.
  function_name    = local.reconciler_name
  description      = "media pipeline indexer: scheduled reconciliation (${var.environment})"
  role             = aws_iam_role.reconciler.arn
  runtime          = "python3.12"
  handler          = "indexer.reconcile_handler.lambda_handler"
  architectures    = [var.architecture]
  memory_size      = 256
  timeout          = var.reconcile_timeout
  filename         = local.artifact_path
  source_code_hash = filebase64sha256(local.artifact_path)

  environment {
    variables = {
      POWERTOOLS_SERVICE_NAME      = local.reconciler_service
      POWERTOOLS_METRICS_NAMESPACE = "MediaPipeline"
      METRIC_ENVIRONMENT           = var.environment
      INDEX_TABLE                  = local.index_table_name
      UPLOADS_BUCKET               = local.platform["buckets/uploads/name"]
      ORIGINALS_BUCKET             = local.platform["buckets/originals/name"]
      STUCK_AFTER_MINUTES          = tostring(var.reconcile_stuck_after_minutes)
      LOOKBACK_HOURS               = tostring(var.reconcile_lookback_hours)
    }
  }

  tracing_config {
    mode = "Active"
  }

  depends_on = [aws_cloudwatch_log_group.reconciler, aws_iam_role_policy.reconciler]
}

################################################################################
# The schedule (the account's default bus, as scheduled rules are), with a DLQ for a run
# EventBridge could not start.
################################################################################

resource "aws_cloudwatch_event_rule" "reconciler" {
  name                = local.reconciler_rule_name
  description         = "Runs ${local.reconciler_name} ${local.reconciler_schedule}."
  schedule_expression = local.reconciler_schedule
  state               = "ENABLED"
}

resource "aws_cloudwatch_event_target" "reconciler" {
  rule      = aws_cloudwatch_event_rule.reconciler.name
  target_id = "${local.reconciler_name}-function"
  arn       = aws_lambda_function.reconciler.arn

  # A run not started within the hour is left to the next one; what could not be delivered
  # is parked (and the alarm's missing data says so).
  retry_policy {
    maximum_event_age_in_seconds = 3600
    maximum_retry_attempts       = 10
  }

  dead_letter_config {
    arn = aws_sqs_queue.reconciler_dlq.arn
  }
}

resource "aws_lambda_permission" "reconciler" {
  statement_id  = "RunOnItsSchedule"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.reconciler.function_name
  principal     = "events.amazonaws.com"
  source_arn    = local.reconciler_rule_arn
}

data "aws_iam_policy_document" "reconciler_dlq" {
  statement {
    sid       = "AllowUndeliverableRunsOfTheSchedule"
    actions   = ["sqs:SendMessage"]
    resources = [local.reconciler_dlq_arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [local.reconciler_rule_arn]
    }
  }

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = [local.reconciler_dlq_arn]

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
}

resource "aws_sqs_queue" "reconciler_dlq" {
  name                      = local.reconciler_dlq_name
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true
  policy                    = data.aws_iam_policy_document.reconciler_dlq.json
}

################################################################################
# Alarms (notifying alarm_actions, like every service's)
################################################################################

resource "aws_cloudwatch_metric_alarm" "uploads_stuck" {
  alarm_name          = "${local.reconciler_name}-uploads-stuck"
  alarm_description   = "${var.environment}: uploads older than ${var.reconcile_stuck_after_minutes} minutes are not indexed, rejected or failed (or the reconciler stopped reporting). Run `mediactl reconcile --from ${var.reconcile_lookback_hours}h` to see which, and why."
  namespace           = "MediaPipeline"
  metric_name         = "UploadsStuck"
  dimensions          = { service = local.reconciler_service, environment = var.environment }
  statistic           = "Maximum"
  period              = local.reconciler_alarm_period
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "breaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions

  lifecycle {
    precondition {
      condition     = var.environment == "local" || length(var.alarm_actions) > 0
      error_message = "alarm_actions is empty: outside the local environment the stuck-uploads alarm must notify someone (an SNS topic ARN)."
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "reconciler_errors" {
  alarm_name          = "${local.reconciler_name}-errors"
  alarm_description   = "${local.reconciler_name}: a reconciliation run failed (see its log)."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = aws_lambda_function.reconciler.function_name }
  statistic           = "Sum"
  period              = local.reconciler_alarm_period
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
}
