output "event_bus_name" {
  description = "Name of the media event bus."
  value       = module.event_bus.event_bus_name
}

output "event_bus_arn" {
  description = "ARN of the media event bus."
  value       = module.event_bus.event_bus_arn
}

output "archive_name" {
  description = "Name of the bus archive (for replay)."
  value       = module.event_bus.archive_name
}

output "uploads_archive_name" {
  description = "Name of the archive of the uploads bucket's events on the default bus (for replay)."
  value       = aws_cloudwatch_event_archive.uploads.name
}

output "schema_registry_name" {
  description = "Name of the schema registry, or null when disabled."
  value       = module.event_bus.schema_registry_name
}

output "bucket_names" {
  description = "Name of each bucket: uploads, originals, derived."
  value       = module.buckets.bucket_names
}

output "bucket_arns" {
  description = "ARN of each bucket: uploads, originals, derived."
  value       = module.buckets.bucket_arns
}

output "ssm_parameter_names" {
  description = "The SSM parameters service roots read, by key relative to /media-pipeline/<environment>/platform/."
  value       = { for key, parameter in aws_ssm_parameter.this : key => parameter.name }
}
