locals {
  registry_name = coalesce(var.registry_name, var.name)

  # Bundling, the same as media_shared.schemas.bundle(): each events/<Name>/v<MAJOR>.json points at the
  # envelope with definitions.envelope = {"$ref": "../../envelope/v1.json"}; the registry needs documents
  # that stand alone, so that reference is replaced by the envelope itself (minus "$schema" and "id").
  schemas_dir = var.schemas_dir == null ? "" : var.schemas_dir
  # try(): with no schemas_dir there is no envelope (and no schema to bundle); the variable's validation
  # already proved the file readable when schemas_dir is set.
  envelope = try({
    for key, value in jsondecode(file("${local.schemas_dir}/envelope/v1.json")) :
    key => value if !contains(["$schema", "id"], key)
  }, null)
  schema_files = var.schemas_dir == null ? [] : [
    for path in fileset(local.schemas_dir, "events/*/v*.json") : path
    if can(regex("^v[1-9][0-9]*\\.json$", basename(path)))
  ]
  schema_documents = {
    for path in local.schema_files :
    "${split("/", path)[1]}-${trimsuffix(basename(path), ".json")}" => jsondecode(file("${local.schemas_dir}/${path}"))
  }
  bundled_schemas = {
    for name, document in local.schema_documents : name => jsonencode(merge(document, {
      definitions = merge(try(document.definitions, {}), { envelope = local.envelope })
    }))
  }
}

resource "aws_cloudwatch_event_bus" "this" {
  name = var.name
  tags = var.tags
}

resource "aws_cloudwatch_event_archive" "this" {
  name             = substr("${var.name}-archive", 0, 48)
  description      = "Every event published to ${var.name}, kept for replay."
  event_source_arn = aws_cloudwatch_event_bus.this.arn
  retention_days   = var.archive_retention_days
}

resource "aws_schemas_registry" "this" {
  count = var.enable_schema_registry ? 1 : 0

  name        = local.registry_name
  description = "Event contracts of the ${var.name} bus: one schema per event and major version."
  tags        = var.tags

  lifecycle {
    precondition {
      condition     = var.schemas_dir != null
      error_message = "enable_schema_registry needs schemas_dir (the project's schemas/ folder)."
    }
  }
}

resource "aws_schemas_schema" "this" {
  for_each = var.enable_schema_registry ? local.bundled_schemas : {}

  name          = each.key
  registry_name = aws_schemas_registry.this[0].name
  type          = "JSONSchemaDraft4"
  description   = try(jsondecode(each.value).description, each.key)
  content       = each.value
  tags          = var.tags
}
