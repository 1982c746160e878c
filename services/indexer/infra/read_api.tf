################################################################################
# The gallery's read API: the caller's assets by status, one asset with presigned thumbnail URLs,
# and the asset an upload became (indexer/read_api.py, wired in indexer/read_handler.py). Queries
# the index through its by_owner index (the operator scope: by_status) and GetItem, never a Scan.
# Created once an identity provider is configured (var.http_api).
################################################################################

data "aws_ssm_parameter" "read_api" {
  for_each = var.http_api == null ? toset([]) : toset([
    "buckets/uploads/name",
    "buckets/derived/name",
    "buckets/derived/arn",
  ])

  name = "${local.platform_path}/${each.key}"
}

module "read_api" {
  source = "../../../infra/modules/http-api"
  count  = var.http_api == null ? 0 : 1

  environment   = var.environment
  service_name  = local.service
  name          = "read-api"
  handler       = "indexer.read_handler.lambda_handler"
  artifact_path = local.artifact_path
  architecture  = var.architecture
  iam_path      = "/media-pipeline/${var.environment}/services/"

  environment_variables = {
    INDEX_TABLE = local.index_table_name
    # Only to derive an upload's asset id (bucket, key, version); the role has no access to it.
    UPLOADS_BUCKET                = data.aws_ssm_parameter.read_api["buckets/uploads/name"].insecure_value
    DERIVED_BUCKET                = data.aws_ssm_parameter.read_api["buckets/derived/name"].insecure_value
    THUMBNAIL_URL_EXPIRES_SECONDS = tostring(var.thumbnail_url_expires_seconds)
    # The JWT scope that reads every owner's assets (each read logged); "" : nobody.
    OPERATOR_SCOPE = coalesce(var.read_api_operator_scope, "")
  }

  # Reads only: one item by key, the by_owner index (a caller's own assets), the by_status index
  # (the operator scope), and thumbnails (presigned GETs are signed with this role's credentials,
  # so S3 checks its s3:GetObject when the browser fetches one). Nothing else of the table.
  policy_statements = {
    GetOneAsset = {
      actions   = ["dynamodb:GetItem"]
      resources = [local.index_table_arn]
    }
    ListAssetsByOwnerOrStatus = {
      actions = ["dynamodb:Query"]
      resources = [
        "${local.index_table_arn}/index/by_owner",
        "${local.index_table_arn}/index/by_status",
      ]
    }
    PresignThumbnails = {
      actions   = ["s3:GetObject"]
      resources = ["${data.aws_ssm_parameter.read_api["buckets/derived/arn"].insecure_value}/thumbnails/*"]
    }
  }

  routes = {
    "GET /assets"            = {}
    "GET /assets/by-upload"  = {}
    "GET /assets/{asset_id}" = {}
  }
  jwt_authorizer = {
    issuer   = var.http_api.jwt_issuer
    audience = var.http_api.jwt_audience
  }
  cors_allowed_origins = var.http_api.cors_allowed_origins
  log_retention_days   = var.log_retention_days
}

# Where the read API is, for whoever reads it without this root's state: clients, and the
# end-to-end suite run against a deployed environment (`make test-deployed ENV=<env>`).
resource "aws_ssm_parameter" "read_api_url" {
  #checkov:skip=CKV2_AWS_34:A public URL, not a secret: a plain String parameter readers can use without kms:Decrypt.
  count = var.http_api == null ? 0 : 1

  name        = "/media-pipeline/${var.environment}/indexer/read-api/url"
  description = "Base URL of the indexer's read API (GET <url>/assets, /assets/{asset_id}, /assets/by-upload)."
  type        = "String"
  value       = module.read_api[0].api_endpoint
}
