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
