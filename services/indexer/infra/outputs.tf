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

output "reconciler_function_name" {
  description = "Name of the scheduled reconciler's function (reconciler.tf)."
  value       = aws_lambda_function.reconciler.function_name
}
