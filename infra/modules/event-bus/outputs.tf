output "event_bus_name" {
  description = "Name of the custom event bus."
  value       = aws_cloudwatch_event_bus.this.name
}

output "event_bus_arn" {
  description = "ARN of the custom event bus."
  value       = aws_cloudwatch_event_bus.this.arn
}

output "archive_name" {
  description = "Name of the archive that keeps the bus's events for replay."
  value       = aws_cloudwatch_event_archive.this.name
}

output "archive_arn" {
  description = "ARN of the archive."
  value       = aws_cloudwatch_event_archive.this.arn
}

output "schema_registry_name" {
  description = "Name of the schema registry, or null when enable_schema_registry is false."
  value       = try(aws_schemas_registry.this[0].name, null)
}

output "schema_registry_arn" {
  description = "ARN of the schema registry, or null when enable_schema_registry is false."
  value       = try(aws_schemas_registry.this[0].arn, null)
}

output "schema_arns" {
  description = "ARN of each published schema, by registry name (\"<Event>-v<MAJOR>\"). Empty when the registry is disabled."
  value       = { for name, schema in aws_schemas_schema.this : name => schema.arn }
}

output "bundled_schemas" {
  description = "The bundled JSON document of each event schema found under schemas_dir, by registry name (\"<Event>-v<MAJOR>\"), whether or not the registry is enabled."
  value       = local.bundled_schemas
}
