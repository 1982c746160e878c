variable "name" {
  description = "Name of the custom event bus, e.g. \"media-dev\"."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]{1,64}$", var.name)) && var.name != "default"
    error_message = "The bus name must be 1-64 characters of [A-Za-z0-9._-] and not \"default\" (this module creates a custom bus)."
  }
}

variable "archive_retention_days" {
  description = "How many days the archive keeps every event published to the bus, for replay. 0 keeps events indefinitely."
  type        = number
  default     = 30

  validation {
    condition     = var.archive_retention_days >= 0 && floor(var.archive_retention_days) == var.archive_retention_days
    error_message = "archive_retention_days must be a whole number of days, 0 or more (0 = keep indefinitely)."
  }
}

variable "enable_schema_registry" {
  description = "Publish every event contract found under schemas_dir to an EventBridge Schema Registry (type JSONSchemaDraft4), one schema per event and major version named \"<Event>-v<MAJOR>\"."
  type        = bool
  default     = false
}

variable "schemas_dir" {
  description = "The project's schemas/ folder: envelope/v1.json and events/<Name>/v<MAJOR>.json. Required when enable_schema_registry is true."
  type        = string
  default     = null

  validation {
    condition     = var.schemas_dir == null || can(file("${coalesce(var.schemas_dir, ".")}/envelope/v1.json"))
    error_message = "schemas_dir must be a folder holding envelope/v1.json (the project's schemas/ folder)."
  }
}

variable "registry_name" {
  description = "Name of the schema registry. Defaults to the bus name."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags for every resource that takes them."
  type        = map(string)
  default     = {}
}
