data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  name = "media-${var.environment}-${var.service_name}-${var.name}"

  # Built from names rather than read from the resources: known at plan time, so the role policy is
  # whole in the plan of a first deploy (what a reviewer approves and tests/infra checks).
  log_group_name = "/aws/lambda/${local.name}"
  log_group_arn  = "arn:${data.aws_partition.current.partition}:logs:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:log-group:${local.log_group_name}"

  environment_variables = merge(
    var.environment_variables,
    {
      POWERTOOLS_SERVICE_NAME      = var.service_name
      POWERTOOLS_METRICS_NAMESPACE = "MediaPipeline"
    },
  )

  # "GET /assets/{asset_id}" -> method GET, path /assets/*: the part of the execute-api ARN a
  # permission names (path variables become wildcards).
  route_arn_paths = {
    for key in keys(var.routes) : key => {
      method = split(" ", key)[0]
      path   = replace(split(" ", key)[1], "/\\{[^}]+\\}/", "*")
    }
  }
}

################################################################################
# Function
################################################################################

resource "aws_cloudwatch_log_group" "function" {
  #checkov:skip=CKV_AWS_158:Logs are encrypted by CloudWatch Logs by default; a customer managed key is an account-level choice this module leaves out.
  #checkov:skip=CKV_AWS_338:Retention is a per-environment variable (default 30 days); requests are short-lived and the index is the durable record.
  name              = local.log_group_name
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_116:Invoked synchronously by API Gateway only; a dead-letter queue applies to asynchronous invocations, which never happen here.
  #checkov:skip=CKV_AWS_117:The function calls only AWS APIs (S3, DynamoDB); a VPC would add NAT or endpoints and no protection.
  #checkov:skip=CKV_AWS_115:Concurrency is capped by the stage's throttling (burst and rate limits); reserving account concurrency is an account-level choice.
  #checkov:skip=CKV_AWS_173:The environment holds bucket and table names and limits only, no secrets; Lambda encrypts it at rest with its AWS managed key.
  #checkov:skip=CKV_AWS_272:Code signing needs a signing profile per account; artifacts are built reproducibly by the project and pinned by source_code_hash.
  function_name    = local.name
  description      = "media pipeline ${var.service_name} ${var.name} (${var.environment}), behind API Gateway"
  role             = aws_iam_role.this.arn
  runtime          = var.runtime
  handler          = var.handler
  architectures    = [var.architecture]
  memory_size      = var.memory_size
  timeout          = var.timeout
  filename         = var.artifact_path
  source_code_hash = filebase64sha256(var.artifact_path)

  environment {
    variables = local.environment_variables
  }

  tracing_config {
    mode = "Active"
  }

  tags = var.tags

  # The log group exists before the first invocation, so Lambda never creates an unmanaged one.
  depends_on = [aws_cloudwatch_log_group.function]
}

################################################################################
# HTTP API: routes -> JWT authorizer -> the function (payload format 2.0)
################################################################################

resource "aws_apigatewayv2_api" "this" {
  name          = local.name
  description   = "media pipeline ${var.service_name} ${var.name} (${var.environment})"
  protocol_type = "HTTP"
  tags          = var.tags

  dynamic "cors_configuration" {
    for_each = length(var.cors_allowed_origins) > 0 ? [var.cors_allowed_origins] : []

    content {
      allow_origins  = cors_configuration.value
      allow_methods  = distinct([for key in keys(var.routes) : split(" ", key)[0]])
      allow_headers  = ["authorization", "content-type"]
      expose_headers = []
      max_age        = 600
    }
  }
}

resource "aws_apigatewayv2_authorizer" "this" {
  api_id           = aws_apigatewayv2_api.this.id
  name             = local.name
  authorizer_type  = "JWT"
  identity_sources = ["$request.header.Authorization"]

  jwt_configuration {
    issuer   = var.jwt_authorizer.issuer
    audience = var.jwt_authorizer.audience
  }
}

resource "aws_apigatewayv2_integration" "this" {
  api_id                 = aws_apigatewayv2_api.this.id
  description            = "Every route of ${local.name} to its function"
  integration_type       = "AWS_PROXY"
  integration_method     = "POST"
  integration_uri        = aws_lambda_function.this.invoke_arn
  payload_format_version = "2.0"
  timeout_milliseconds   = min(30000, var.timeout * 1000 + 1000)
}

resource "aws_apigatewayv2_route" "this" {
  for_each = var.routes

  api_id               = aws_apigatewayv2_api.this.id
  route_key            = each.key
  target               = "integrations/${aws_apigatewayv2_integration.this.id}"
  authorization_type   = "JWT"
  authorizer_id        = aws_apigatewayv2_authorizer.this.id
  authorization_scopes = length(each.value.authorization_scopes) > 0 ? each.value.authorization_scopes : null
}

resource "aws_cloudwatch_log_group" "access" {
  #checkov:skip=CKV_AWS_158:Logs are encrypted by CloudWatch Logs by default; a customer managed key is an account-level choice this module leaves out.
  #checkov:skip=CKV_AWS_338:Retention is a per-environment variable (default 30 days); access logs serve debugging and abuse checks, not long-term records.
  name              = "/aws/apigateway/${local.name}"
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

resource "aws_apigatewayv2_stage" "this" {
  api_id      = aws_apigatewayv2_api.this.id
  name        = "$default"
  auto_deploy = true
  tags        = var.tags

  default_route_settings {
    throttling_burst_limit = var.throttling_burst_limit
    throttling_rate_limit  = var.throttling_rate_limit
  }

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.access.arn
    format = jsonencode({
      requestId      = "$context.requestId"
      ip             = "$context.identity.sourceIp"
      requestTime    = "$context.requestTime"
      routeKey       = "$context.routeKey"
      status         = "$context.status"
      responseLength = "$context.responseLength"
      latency        = "$context.responseLatency"
      subject        = "$context.authorizer.claims.sub"
      authorizer     = "$context.authorizer.error"
      integration    = "$context.integrationErrorMessage"
    })
  }
}

# API Gateway may invoke the function for exactly the routes declared, from this API only.
resource "aws_lambda_permission" "this" {
  for_each = local.route_arn_paths

  statement_id  = "ApiGateway-${each.value.method}-${substr(sha256(each.key), 0, 12)}"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this.function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.this.execution_arn}/*/${each.value.method}${each.value.path}"
}
