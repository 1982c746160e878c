output "function_name" {
  description = "Name of the service's Lambda function."
  value       = module.service.function_name
}

output "function_arn" {
  description = "ARN of the service's Lambda function."
  value       = module.service.function_arn
}

output "role_arn" {
  description = "ARN of the function's execution role."
  value       = module.service.role_arn
}

output "queue_url" {
  description = "URL of the queue the rules deliver to."
  value       = module.service.queue_url
}

output "queue_arn" {
  description = "ARN of the queue the rules deliver to."
  value       = module.service.queue_arn
}

output "dlq_url" {
  description = "URL of the service's dead-letter queue."
  value       = module.service.dlq_url
}

output "dlq_arn" {
  description = "ARN of the service's dead-letter queue."
  value       = module.service.dlq_arn
}

output "rule_arns" {
  description = "ARN of each EventBridge rule feeding the queue, by rule file name."
  value       = module.service.rule_arns
}

output "event_source_mapping_uuid" {
  description = "UUID of the SQS event source mapping."
  value       = module.service.event_source_mapping_uuid
}

output "idempotency_table_name" {
  description = "Name of the idempotency table, or null when disabled."
  value       = module.service.idempotency_table_name
}

output "index_table_name" {
  description = "Name of the asset index table."
  value       = aws_dynamodb_table.index.name
}

output "index_table_arn" {
  description = "ARN of the asset index table."
  value       = aws_dynamodb_table.index.arn
}

output "read_api_endpoint" {
  description = "Base URL of the read API (GET <endpoint>/assets, /assets/{asset_id}, /assets/by-upload), or null without var.http_api."
  value       = one(module.read_api[*].api_endpoint)
}
