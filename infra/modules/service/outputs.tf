output "function_name" {
  description = "Name of the Lambda function."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "ARN of the Lambda function."
  value       = aws_lambda_function.this.arn
}

output "function_environment" {
  description = "The function's environment variables (the module's merged with the caller's)."
  value       = local.environment_variables
}

output "role_name" {
  description = "Name of the function's execution role."
  value       = aws_iam_role.this.name
}

output "role_arn" {
  description = "ARN of the function's execution role."
  value       = aws_iam_role.this.arn
}

output "log_group_name" {
  description = "Name of the function's log group."
  value       = aws_cloudwatch_log_group.this.name
}

output "log_group_arn" {
  description = "ARN of the function's log group."
  value       = aws_cloudwatch_log_group.this.arn
}

output "queue_name" {
  description = "Name of the queue the rules deliver to."
  value       = aws_sqs_queue.this.name
}

output "queue_url" {
  description = "URL of the queue the rules deliver to."
  value       = aws_sqs_queue.this.url
}

output "queue_arn" {
  description = "ARN of the queue the rules deliver to."
  value       = aws_sqs_queue.this.arn
}

output "dlq_name" {
  description = "Name of the dead-letter queue."
  value       = aws_sqs_queue.dlq.name
}

output "dlq_url" {
  description = "URL of the dead-letter queue (DLQ_URL)."
  value       = aws_sqs_queue.dlq.url
}

output "dlq_arn" {
  description = "ARN of the dead-letter queue."
  value       = aws_sqs_queue.dlq.arn
}

output "rule_names" {
  description = "Name of each EventBridge rule, by logical name."
  value       = { for key, rule in aws_cloudwatch_event_rule.this : key => rule.name }
}

output "rule_arns" {
  description = "ARN of each EventBridge rule, by logical name."
  value       = { for key, rule in aws_cloudwatch_event_rule.this : key => rule.arn }
}

output "event_source_mapping_uuid" {
  description = "UUID of the SQS event source mapping."
  value       = aws_lambda_event_source_mapping.this.uuid
}

output "event_source_mapping_arn" {
  description = "ARN of the SQS event source mapping."
  value       = aws_lambda_event_source_mapping.this.arn
}

output "idempotency_table_name" {
  description = "Name of the idempotency table, or null when not created."
  value       = try(aws_dynamodb_table.idempotency[0].name, null)
}

output "idempotency_table_arn" {
  description = "ARN of the idempotency table, or null when not created."
  value       = try(aws_dynamodb_table.idempotency[0].arn, null)
}

output "alarm_arns" {
  description = "ARNs of the DLQ-not-empty and function-errors alarms."
  value = {
    dlq_messages    = aws_cloudwatch_metric_alarm.dlq_messages.arn
    function_errors = aws_cloudwatch_metric_alarm.function_errors.arn
  }
}
