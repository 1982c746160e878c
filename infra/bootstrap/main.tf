################################################################################
# Delivery's AWS side: GitHub Actions reaches AWS through OIDC (no stored keys), with one
# read-only plan role and one apply role per root and environment, each scoped to that root's
# resources (by the names its Terraform gives them) and to its own state key.
#
#   media-<env>-<root>-plan    pull requests and the scheduled drift plan (sub: pull_request, or
#                              the plan branch); reads the root's resources and state, locks
#                              nothing (the workflows plan with -lock=false)
#   media-<env>-<root>-apply   only from the GitHub environment <env> (sub: environment:<env>):
#                              dev on merge to main, prod through the protected environment
################################################################################

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  account   = data.aws_caller_identity.current.account_id
  partition = data.aws_partition.current.partition
  issuer    = "token.actions.githubusercontent.com"

  # Every root of the repository: the platform and each service folder with a Terraform root (a
  # scaffolded service gets its roles on the next apply of this root).
  services = sort([for file in fileset("${path.module}/../../services", "*/infra/main.tf") : split("/", file)[0]])
  roots    = concat(["platform"], local.services)

  scopes = {
    for pair in setproduct(var.environments, local.roots) : "${pair[0]}/${pair[1]}" => {
      environment = pair[0]
      root        = pair[1]
      # What the root names its resources: media-<env> for the platform, media-<env>-<service>.
      prefix = pair[1] == "platform" ? "media-${pair[0]}" : "media-${pair[0]}-${pair[1]}"
    }
  }

  # What Terraform reads (plan) and also writes (apply), by AWS service, and where: {prefix},
  # {env} and {root} are replaced per root.
  families = {
    lambda = {
      read      = ["lambda:Get*", "lambda:List*"]
      write     = ["lambda:CreateFunction", "lambda:UpdateFunction*", "lambda:DeleteFunction", "lambda:PublishVersion", "lambda:AddPermission", "lambda:RemovePermission", "lambda:PutFunctionConcurrency", "lambda:DeleteFunctionConcurrency", "lambda:TagResource", "lambda:UntagResource"]
      resources = ["arn:${local.partition}:lambda:*:${local.account}:function:{prefix}*"]
    }
    event_source_mappings = {
      read      = ["lambda:GetEventSourceMapping", "lambda:ListEventSourceMappings"]
      write     = ["lambda:CreateEventSourceMapping", "lambda:UpdateEventSourceMapping", "lambda:DeleteEventSourceMapping", "lambda:TagResource", "lambda:UntagResource"]
      resources = ["arn:${local.partition}:lambda:*:${local.account}:event-source-mapping:*"]
    }
    roles = {
      read      = ["iam:GetRole", "iam:GetRolePolicy", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies", "iam:ListInstanceProfilesForRole"]
      write     = ["iam:CreateRole", "iam:DeleteRole", "iam:UpdateRole", "iam:UpdateAssumeRolePolicy", "iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:TagRole", "iam:UntagRole", "iam:PassRole"]
      resources = ["arn:${local.partition}:iam::${local.account}:role/media-pipeline/{env}/*/{prefix}*"]
    }
    queues = {
      read      = ["sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:ListQueueTags", "sqs:ListDeadLetterSourceQueues"]
      write     = ["sqs:CreateQueue", "sqs:DeleteQueue", "sqs:SetQueueAttributes", "sqs:TagQueue", "sqs:UntagQueue"]
      resources = ["arn:${local.partition}:sqs:*:${local.account}:{prefix}*"]
    }
    logs = {
      read      = ["logs:DescribeLogGroups", "logs:ListTagsForResource", "logs:ListTagsLogGroup"]
      write     = ["logs:CreateLogGroup", "logs:DeleteLogGroup", "logs:PutRetentionPolicy", "logs:DeleteRetentionPolicy", "logs:TagResource", "logs:UntagResource", "logs:TagLogGroup", "logs:UntagLogGroup"]
      resources = ["arn:${local.partition}:logs:*:${local.account}:log-group:*{prefix}*"]
    }
    rules = {
      read      = ["events:DescribeRule", "events:ListTargetsByRule", "events:ListTagsForResource", "events:DescribeEventBus", "events:DescribeArchive"]
      write     = ["events:PutRule", "events:DeleteRule", "events:PutTargets", "events:RemoveTargets", "events:TagResource", "events:UntagResource", "events:CreateEventBus", "events:DeleteEventBus", "events:CreateArchive", "events:UpdateArchive", "events:DeleteArchive"]
      resources = ["arn:${local.partition}:events:*:${local.account}:rule/*{prefix}*", "arn:${local.partition}:events:*:${local.account}:event-bus/{prefix}", "arn:${local.partition}:events:*:${local.account}:archive/{prefix}*"]
    }
    tables = {
      read      = ["dynamodb:DescribeTable", "dynamodb:DescribeContinuousBackups", "dynamodb:DescribeTimeToLive", "dynamodb:ListTagsOfResource"]
      write     = ["dynamodb:CreateTable", "dynamodb:UpdateTable", "dynamodb:DeleteTable", "dynamodb:UpdateContinuousBackups", "dynamodb:UpdateTimeToLive", "dynamodb:TagResource", "dynamodb:UntagResource"]
      resources = ["arn:${local.partition}:dynamodb:*:${local.account}:table/{prefix}*"]
    }
    alarms = {
      read      = ["cloudwatch:DescribeAlarms", "cloudwatch:ListTagsForResource"]
      write     = ["cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms", "cloudwatch:TagResource", "cloudwatch:UntagResource"]
      resources = ["arn:${local.partition}:cloudwatch:*:${local.account}:alarm:{prefix}*"]
    }
    parameters = {
      read      = ["ssm:GetParameter", "ssm:GetParameters", "ssm:ListTagsForResource"]
      write     = ["ssm:PutParameter", "ssm:DeleteParameter", "ssm:AddTagsToResource", "ssm:RemoveTagsFromResource"]
      resources = ["arn:${local.partition}:ssm:*:${local.account}:parameter/media-pipeline/{env}/{root}/*"]
    }
    buckets = {
      read      = ["s3:GetBucket*", "s3:GetEncryptionConfiguration", "s3:GetLifecycleConfiguration", "s3:GetAccelerateConfiguration", "s3:GetReplicationConfiguration", "s3:ListBucket"]
      write     = ["s3:CreateBucket", "s3:DeleteBucket", "s3:PutBucket*", "s3:DeleteBucketPolicy", "s3:PutEncryptionConfiguration", "s3:PutLifecycleConfiguration"]
      resources = ["arn:${local.partition}:s3:::{prefix}-${local.account}-*"]
    }
    registry = {
      read      = ["schemas:DescribeRegistry", "schemas:DescribeSchema", "schemas:ListTagsForResource"]
      write     = ["schemas:CreateRegistry", "schemas:UpdateRegistry", "schemas:DeleteRegistry", "schemas:CreateSchema", "schemas:UpdateSchema", "schemas:DeleteSchema", "schemas:TagResource", "schemas:UntagResource"]
      resources = ["arn:${local.partition}:schemas:*:${local.account}:registry/{prefix}", "arn:${local.partition}:schemas:*:${local.account}:schema/{prefix}/*"]
    }
    # API Gateway's ARNs carry ids, not names: the HTTP APIs are scoped by the Component tag.
    apis = {
      read      = ["apigateway:GET"]
      write     = ["apigateway:POST", "apigateway:PUT", "apigateway:PATCH", "apigateway:DELETE", "apigateway:TagResource", "apigateway:UntagResource"]
      resources = ["arn:${local.partition}:apigateway:*::/apis", "arn:${local.partition}:apigateway:*::/apis/*", "arn:${local.partition}:apigateway:*::/tags/*"]
    }
  }
}

locals {
  # Resources a root owns that are not named after it, by root and family.
  owned_elsewhere = {
    indexer = { tables = ["arn:${local.partition}:dynamodb:*:${local.account}:table/media-{env}-asset-index*"] }
  }
  resources = {
    for key, scope in local.scopes : key => {
      for family, spec in local.families : family => [
        for r in concat(spec.resources, lookup(lookup(local.owned_elsewhere, scope.root, {}), family, [])) :
        replace(replace(replace(r, "{prefix}", scope.prefix), "{env}", scope.environment), "{root}", scope.root)
      ]
    }
  }
}

resource "aws_iam_openid_connect_provider" "github" {
  count = var.create_oidc_provider ? 1 : 0

  url            = "https://${local.issuer}"
  client_id_list = ["sts.amazonaws.com"]
  # GitHub's published intermediate thumbprints (AWS trusts the issuer's CA itself for this
  # provider; the list is required by older providers).
  thumbprint_list = ["6938fd4d98bab03faadb97b34396831e3780aea1", "1c58a3a8518e8759bf075b76b750d4f2df264fcd"]
}

data "aws_iam_openid_connect_provider" "github" {
  count = var.create_oidc_provider ? 0 : 1
  url   = "https://${local.issuer}"
}

locals {
  oidc_provider_arn = var.create_oidc_provider ? aws_iam_openid_connect_provider.github[0].arn : data.aws_iam_openid_connect_provider.github[0].arn
  # Who may ask for a role: the sub claims GitHub puts in this repository's tokens.
  plan_subjects = [
    "repo:${var.github_repository}:pull_request",
    "repo:${var.github_repository}:ref:refs/heads/${var.plan_branch}",
  ]
}

data "aws_iam_policy_document" "trust" {
  for_each = merge(
    { for key, scope in local.scopes : "${key}/plan" => local.plan_subjects },
    { for key, scope in local.scopes : "${key}/apply" => ["repo:${var.github_repository}:environment:${scope.environment}"] },
  )

  statement {
    sid     = "GitHubActionsOfThisRepository"
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [local.oidc_provider_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.issuer}:aud"
      values   = ["sts.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.issuer}:sub"
      values   = each.value
    }
  }
}

data "aws_iam_policy_document" "plan" {
  for_each = local.scopes

  dynamic "statement" {
    for_each = local.families
    content {
      sid       = "Read${replace(title(replace(statement.key, "_", " ")), " ", "")}"
      actions   = statement.value.read
      resources = local.resources[each.key][statement.key]
    }
  }

  # The platform's parameters are what every service root reads.
  statement {
    sid       = "ReadThePlatformParameters"
    actions   = ["ssm:GetParameter", "ssm:GetParameters"]
    resources = ["arn:${local.partition}:ssm:*:${local.account}:parameter/media-pipeline/${each.value.environment}/platform/*"]
  }

  # The deploy gate (mediactl can-deploy) reads every service's recorded contract.
  statement {
    sid       = "ReadTheRecordedContracts"
    actions   = ["ssm:GetParametersByPath", "ssm:GetParameter"]
    resources = ["arn:${local.partition}:ssm:*:${local.account}:parameter/media-pipeline/${each.value.environment}", "arn:${local.partition}:ssm:*:${local.account}:parameter/media-pipeline/${each.value.environment}/*/contract"]
  }

  statement {
    sid       = "ReadItsState"
    actions   = ["s3:GetObject"]
    resources = ["arn:${local.partition}:s3:::${var.state_bucket}/${each.value.root}/terraform.tfstate"]
  }

  statement {
    sid       = "FindItsState"
    actions   = ["s3:ListBucket"]
    resources = ["arn:${local.partition}:s3:::${var.state_bucket}"]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${each.value.root}/*"]
    }
  }
}

data "aws_iam_policy_document" "apply" {
  for_each = local.scopes

  source_policy_documents = [data.aws_iam_policy_document.plan[each.key].json]

  dynamic "statement" {
    for_each = local.families
    content {
      sid       = "Change${replace(title(replace(statement.key, "_", " ")), " ", "")}"
      actions   = statement.value.write
      resources = local.resources[each.key][statement.key]
    }
  }

  statement {
    sid     = "WriteItsStateAndLock"
    actions = ["s3:PutObject", "s3:DeleteObject"]
    resources = [
      "arn:${local.partition}:s3:::${var.state_bucket}/${each.value.root}/terraform.tfstate",
      "arn:${local.partition}:s3:::${var.state_bucket}/${each.value.root}/terraform.tfstate.tflock",
    ]
  }
}

resource "aws_iam_role" "plan" {
  for_each = local.scopes

  name                 = "media-${each.value.environment}-${each.value.root}-plan"
  path                 = "/media-pipeline/ci/"
  description          = "Read-only: plan the ${each.value.root} root of ${each.value.environment} (pull requests, drift)."
  assume_role_policy   = data.aws_iam_policy_document.trust["${each.key}/plan"].json
  max_session_duration = 3600
}

resource "aws_iam_role_policy" "plan" {
  for_each = local.scopes

  name   = "plan-${each.value.root}"
  role   = aws_iam_role.plan[each.key].id
  policy = data.aws_iam_policy_document.plan[each.key].json
}

resource "aws_iam_role" "apply" {
  for_each = local.scopes

  name                 = "media-${each.value.environment}-${each.value.root}-apply"
  path                 = "/media-pipeline/ci/"
  description          = "Apply the ${each.value.root} root of ${each.value.environment}; only from the GitHub environment ${each.value.environment}."
  assume_role_policy   = data.aws_iam_policy_document.trust["${each.key}/apply"].json
  max_session_duration = 3600
}

resource "aws_iam_role_policy" "apply" {
  for_each = local.scopes

  name   = "apply-${each.value.root}"
  role   = aws_iam_role.apply[each.key].id
  policy = data.aws_iam_policy_document.apply[each.key].json
}
