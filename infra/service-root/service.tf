################################################################################
# What every service root does the same way, written once (infra/service-root/, linked into each
# root): read the platform's SSM parameters, build the rules from rules/*.json, call the service
# module, and record the service's contract in the environment.
#
# The root's own main.tf sets the locals this file reads:
#   service, handler              the service's name and its Lambda entry point
#   platform_parameters           platform parameters it needs beyond the bus name and ARN
#   defaults                      { memory_size, timeout, batch_size } when the variables are null
#   environment_variables         its function's environment (the module adds the common ones)
#   policy_statements             its role's own statements, by Sid (local.read_originals
#                                 below is there to merge in)
#   rule_bus, rule_detail         the bus its rules are on (null: the media bus) and what is merged
#                                 into each pattern's detail ({}: nothing)
#   uses_idempotency              whether its code uses Powertools Idempotency (IDEMPOTENCY_TABLE):
#                                 the table and its grant exist only then
################################################################################

locals {
  platform_path = "/media-pipeline/${var.environment}/platform"
  artifact_path = coalesce(var.artifact_path, "${path.root}/../../../build/lambda/${local.service}.zip")
  platform      = { for key, parameter in data.aws_ssm_parameter.platform : key => parameter.insecure_value }

  function = {
    memory_size = coalesce(var.memory_size, local.defaults.memory_size)
    timeout     = coalesce(var.timeout, local.defaults.timeout)
    batch_size  = coalesce(var.batch_size, local.defaults.batch_size)
  }

  rule_patterns = {
    for file in fileset("${path.module}/rules", "*.json") :
    trimsuffix(file, ".json") => jsondecode(file("${path.module}/rules/${file}"))
  }
  rules = {
    for name, pattern in local.rule_patterns : name => {
      event_bus_name = coalesce(local.rule_bus, local.platform["event-bus-name"])
      event_pattern = length(local.rule_detail) == 0 ? jsonencode(pattern) : jsonencode(merge(
        pattern,
        { detail = merge(try(pattern.detail, {}), local.rule_detail) },
      ))
    }
  }

  # Grants more than one service needs, written once: a root merges those it uses into its
  # policy_statements. Empty for a root that does not read the originals bucket's ARN.
  read_originals = {
    for sid, statement in {
      ReadOriginals = {
        actions   = ["s3:GetObject", "s3:GetObjectVersion"]
        resources = ["${lookup(local.platform, "buckets/originals/arn", "")}/originals/*"]
      }
      # A missing original then answers 404 (parked as original_missing) rather than 403 (retried).
      ListOriginals = {
        actions   = ["s3:ListBucket"]
        resources = [lookup(local.platform, "buckets/originals/arn", "")]
        conditions = [{
          test     = "StringLike"
          variable = "s3:prefix"
          values   = ["originals/*"]
        }]
      }
    } : sid => statement if contains(keys(local.platform), "buckets/originals/arn")
  }

  # What the service publishes: every event and major whose schema names media.<service> as a
  # source (the producer owns its schemas; ProcessingFailed lists every service).
  schema_files = fileset("${path.module}/../../../schemas/events", "*/v*.json")
  produces = sort([
    for file in local.schema_files : "${dirname(file)}/v${trimprefix(trimsuffix(basename(file), ".json"), "v")}"
    if contains(try(jsondecode(file("${path.module}/../../../schemas/events/${file}")).properties.source.enum, []), "media.${local.service}")
  ])
}

# The only coupling to the platform: its published parameters.
data "aws_ssm_parameter" "platform" {
  for_each = toset(concat(["event-bus-name", "event-bus-arn"], local.platform_parameters))

  name = "${local.platform_path}/${each.key}"
}

module "service" {
  source = "../../../infra/modules/service"

  environment   = var.environment
  service_name  = local.service
  handler       = local.handler
  artifact_path = local.artifact_path
  architecture  = var.architecture
  memory_size   = local.function.memory_size
  timeout       = local.function.timeout

  event_bus_name = local.platform["event-bus-name"]
  event_bus_arn  = local.platform["event-bus-arn"]
  rules          = local.rules

  environment_variables = local.environment_variables
  policy_statements     = local.policy_statements

  batch_size               = local.function.batch_size
  maximum_concurrency      = var.maximum_concurrency
  max_receive_count        = var.max_receive_count
  log_retention_days       = var.log_retention_days
  create_idempotency_table = local.uses_idempotency && var.enable_idempotency
  alarm_actions            = var.alarm_actions
}

# The deploy gate's record (tools/contracts.py, `mediactl can-deploy`): what this deployment
# publishes ("<Event>/v<MAJOR>") and the patterns of the rules it consumes through.
resource "aws_ssm_parameter" "contract" {
  #checkov:skip=CKV2_AWS_34:Event names, majors and rule patterns, not secrets: a plain String any deploy gate can read without kms:Decrypt.
  name        = "/media-pipeline/${var.environment}/${local.service}/contract"
  description = "What ${local.service} publishes and the rules it consumes through (written by its root's apply)."
  type        = "String"
  value = jsonencode({
    service  = local.service
    produces = local.produces
    consumes = local.rule_patterns
  })
}
