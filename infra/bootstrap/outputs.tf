output "oidc_provider_arn" {
  description = "ARN of the GitHub Actions OIDC provider the roles trust."
  value       = local.oidc_provider_arn
}

output "plan_role_arns" {
  description = "Read-only plan role of each root, by \"<environment>/<root>\" (workflow secret/variable AWS_PLAN_ROLE_<ENV>_<ROOT> or the naming convention)."
  value       = { for key, role in aws_iam_role.plan : key => role.arn }
}

output "apply_role_arns" {
  description = "Apply role of each root, by \"<environment>/<root>\"; assumable only from the GitHub environment of the same name."
  value       = { for key, role in aws_iam_role.apply : key => role.arn }
}
