output "upload_api_endpoint" {
  description = "Base URL of the upload API (POST <endpoint>/uploads), or null without var.http_api."
  value       = one(module.upload_api[*].api_endpoint)
}

output "upload_api_role_arn" {
  description = "ARN of the upload API's role (the only role that may write to the uploads bucket, under incoming/), or null."
  value       = one(module.upload_api[*].role_arn)
}
