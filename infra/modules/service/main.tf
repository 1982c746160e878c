data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  name       = "media-${var.environment}-${var.service_name}"
  queue_name = local.name
  dlq_name   = "${local.name}-dlq"

  # ARNs built from names rather than read from the resources: known at plan time, so the role
  # policy and the queue policy are whole in the plan of a first deploy (what the reviewer approves,
  # and what tests/infra/test_least_privilege.py checks), and each queue's policy can name its own
  # queue before it exists.
  partition              = data.aws_partition.current.partition
  region                 = data.aws_region.current.name
  account_id             = data.aws_caller_identity.current.account_id
  arn_prefix             = "arn:${local.partition}:sqs:${local.region}:${local.account_id}"
  queue_arn              = "${local.arn_prefix}:${local.queue_name}"
  dlq_arn                = "${local.arn_prefix}:${local.dlq_name}"
  log_group_name         = "/aws/lambda/${local.name}"
  log_group_arn          = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:${local.log_group_name}"
  idempotency_table_name = "${local.name}-idempotency"
  idempotency_table_arn  = "arn:${local.partition}:dynamodb:${local.region}:${local.account_id}:table/${local.idempotency_table_name}"
  # A rule's ARN names its bus, unless that is the default bus (event_bus_name may be a bus's ARN).
  rule_buses = { for key, rule in var.rules : key => replace(rule.event_bus_name, "/^arn:.*:event-bus\\//", "") }
  rule_arns = {
    for key, bus in local.rule_buses :
    key => "arn:${local.partition}:events:${local.region}:${local.account_id}:rule/${bus == "default" ? "" : "${bus}/"}${local.name}-${key}"
  }

  # A message must stay invisible while a batch is retried inside the function: 6x the timeout, plus
  # the time the event source mapping may spend gathering the batch.
  visibility_timeout_seconds = 6 * var.timeout + var.maximum_batching_window_in_seconds

  environment_variables = merge(
    var.environment_variables,
    {
      POWERTOOLS_SERVICE_NAME      = var.service_name
      POWERTOOLS_METRICS_NAMESPACE = "MediaPipeline"
      EVENT_BUS_NAME               = var.event_bus_name
      DLQ_URL                      = aws_sqs_queue.dlq.url
    },
    var.create_idempotency_table ? { IDEMPOTENCY_TABLE = aws_dynamodb_table.idempotency[0].name } : {},
  )
}

################################################################################
# Queues: EventBridge rules -> queue -> (after max_receive_count) DLQ
################################################################################

data "aws_iam_policy_document" "dlq" {
  # The rules' targets park here what EventBridge could not deliver to the queue (after its
  # retry policy), so no matched event vanishes unseen.
  statement {
    sid       = "AllowUndeliverableEventsOfTheServiceRules"
    effect    = "Allow"
    actions   = ["sqs:SendMessage"]
    resources = [local.dlq_arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = values(local.rule_arns)
    }
  }

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = [local.dlq_arn]

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

resource "aws_sqs_queue" "dlq" {
  name                      = local.dlq_name
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true
  policy                    = data.aws_iam_policy_document.dlq.json
  tags                      = var.tags
}

data "aws_iam_policy_document" "queue" {
  statement {
    sid       = "AllowOnlyTheServiceRules"
    effect    = "Allow"
    actions   = ["sqs:SendMessage"]
    resources = [local.queue_arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = values(local.rule_arns)
    }
  }

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = [local.queue_arn]

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

# The provider confirms every queue create, and every queue attribute set by a separate resource,
# with 6 matching reads 5 s apart (25 s). So the policy is set inline, and the queue is created
# alongside the DLQ rather than after it: SQS refuses a redrive target that does not exist yet, so
# the redrive policy is its own resource, set once both queues exist. Two waits in a row, not three.
resource "aws_sqs_queue" "this" {
  name                       = local.queue_name
  visibility_timeout_seconds = local.visibility_timeout_seconds
  message_retention_seconds  = var.message_retention_seconds
  sqs_managed_sse_enabled    = true
  policy                     = data.aws_iam_policy_document.queue.json
  tags                       = var.tags

  lifecycle {
    # Owned by aws_sqs_queue_redrive_policy.this.
    ignore_changes = [redrive_policy]
  }
}

resource "aws_sqs_queue_redrive_policy" "this" {
  queue_url = aws_sqs_queue.this.id

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dlq.arn
    maxReceiveCount     = var.max_receive_count
  })
}

################################################################################
# EventBridge rules, each delivering to the queue
################################################################################

resource "aws_cloudwatch_event_rule" "this" {
  for_each = var.rules

  name           = "${local.name}-${each.key}"
  description    = coalesce(each.value.description, "Feeds ${local.name}: ${each.key}.")
  event_bus_name = each.value.event_bus_name
  event_pattern  = each.value.event_pattern
  state          = "ENABLED"
  tags           = var.tags
}

resource "aws_cloudwatch_event_target" "this" {
  for_each = var.rules

  rule           = aws_cloudwatch_event_rule.this[each.key].name
  event_bus_name = each.value.event_bus_name
  target_id      = "${local.name}-queue"
  arn            = aws_sqs_queue.this.arn

  # EventBridge retries a failed delivery with backoff for up to a day, then parks the event in
  # the service's DLQ (the DLQ alarm fires) instead of dropping it.
  retry_policy {
    maximum_event_age_in_seconds = var.target_maximum_event_age_seconds
    maximum_retry_attempts       = 185
  }

  dead_letter_config {
    arn = aws_sqs_queue.dlq.arn
  }
}

################################################################################
# Function
################################################################################

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_158:Logs are encrypted by CloudWatch Logs by default; a customer managed key is an account-level choice this module leaves out.
  #checkov:skip=CKV_AWS_338:Retention is a per-environment variable (default 30 days): the durable record of an asset is the index, not its logs.
  name              = local.log_group_name
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_116:Invoked only by the SQS event source mapping (synchronously); failed messages go to the queue's DLQ, so an async-invoke DLQ would never receive anything.
  #checkov:skip=CKV_AWS_117:The function calls only AWS APIs (S3, EventBridge, SQS, DynamoDB); a VPC would add NAT or endpoints and no protection.
  #checkov:skip=CKV_AWS_115:Concurrency is capped per event source mapping (scaling_config.maximum_concurrency); reserving account concurrency is an account-level choice.
  #checkov:skip=CKV_AWS_173:The environment holds names and URLs only, no secrets; Lambda encrypts it at rest with its AWS managed key.
  #checkov:skip=CKV_AWS_272:Code signing needs a signing profile per account; artifacts are built reproducibly by the project and pinned by source_code_hash.
  function_name    = local.name
  description      = "media pipeline ${var.service_name} (${var.environment})"
  role             = aws_iam_role.this.arn
  runtime          = var.runtime
  handler          = var.handler
  architectures    = [var.architecture]
  memory_size      = var.memory_size
  timeout          = var.timeout
  filename         = var.artifact_path
  source_code_hash = filebase64sha256(var.artifact_path)

  environment {
    variables = local.environment_variables
  }

  tracing_config {
    mode = "Active"
  }

  tags = var.tags

  # The log group exists before the first invocation, so Lambda never creates an unmanaged one.
  depends_on = [aws_cloudwatch_log_group.this]
}

resource "aws_lambda_event_source_mapping" "this" {
  event_source_arn                   = aws_sqs_queue.this.arn
  function_name                      = aws_lambda_function.this.arn
  batch_size                         = var.batch_size
  maximum_batching_window_in_seconds = var.maximum_batching_window_in_seconds
  function_response_types            = ["ReportBatchItemFailures"]
  enabled                            = true

  scaling_config {
    maximum_concurrency = var.maximum_concurrency
  }

  # Lambda checks the role can read the queue when the mapping is created; the mapping is also the
  # only way the function is ever invoked, so nothing runs before its permissions exist, nor before
  # a message that keeps failing has a DLQ to end in.
  depends_on = [aws_iam_role_policy.this, aws_sqs_queue_redrive_policy.this]

  lifecycle {
    precondition {
      condition     = var.batch_size <= 10 || var.maximum_batching_window_in_seconds >= 1
      error_message = "An SQS batch_size above 10 needs maximum_batching_window_in_seconds of at least 1."
    }
  }
}

################################################################################
# Idempotency table (optional)
################################################################################

resource "aws_dynamodb_table" "idempotency" {
  #checkov:skip=CKV_AWS_119:Encrypted with the AWS managed key; the records are request hashes and short-lived results, no customer data worth a key policy.
  count = var.create_idempotency_table ? 1 : 0

  name         = local.idempotency_table_name
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "id"

  attribute {
    name = "id"
    type = "S"
  }

  ttl {
    attribute_name = "expiration"
    enabled        = true
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled = true
  }

  tags = var.tags
}

################################################################################
# Alarms
################################################################################

resource "aws_cloudwatch_metric_alarm" "dlq_messages" {
  alarm_name          = "${local.dlq_name}-not-empty"
  alarm_description   = "${local.name}: messages are waiting in the DLQ (parked permanent failures or exhausted retries). Inspect, fix, redrive."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.dlq.name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
  tags                = var.tags

  lifecycle {
    precondition {
      condition     = var.environment == "local" || length(var.alarm_actions) > 0
      error_message = "alarm_actions is empty: outside the local environment a DLQ alarm must notify someone (an SNS topic ARN)."
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "function_errors" {
  alarm_name          = "${local.name}-errors"
  alarm_description   = "${local.name}: invocations failed as a whole (crash, timeout, init error); per-record failures are retried and end in the DLQ."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = aws_lambda_function.this.function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = var.function_errors_threshold
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
  tags                = var.tags
}
