################################################################################
# The browser upload API: POST /uploads answers a presigned POST for one new object under
# incoming/ in the uploads bucket (ingest/upload_api.py, wired in ingest/upload_handler.py).
# Created once an identity provider is configured (var.http_api): every route sits behind its JWT
# authorizer.
################################################################################

module "upload_api" {
  source = "../../../infra/modules/http-api"
  count  = var.http_api == null ? 0 : 1

  environment   = var.environment
  service_name  = local.service
  name          = "upload-api"
  handler       = "ingest.upload_handler.lambda_handler"
  artifact_path = local.artifact_path
  architecture  = var.architecture

  # Not under /services/: presigning is signing with this role's credentials, so S3 checks this
  # role's s3:PutObject when the browser posts, and the uploads bucket policy refuses object
  # writes to every role under /media-pipeline/<environment>/services/ (the functions that react
  # to uploads must never write one). This role can write nothing but new uploads.
  iam_path = "/media-pipeline/${var.environment}/uploaders/"

  environment_variables = {
    UPLOADS_BUCKET             = local.platform["buckets/uploads/name"]
    MAX_UPLOAD_BYTES           = tostring(var.max_upload_bytes)
    UPLOAD_KEY_PREFIX          = var.upload_key_prefix
    UPLOAD_URL_EXPIRES_SECONDS = tostring(var.upload_url_expires_seconds)
  }

  policy_statements = {
    PresignNewUploadsOnly = {
      actions   = ["s3:PutObject"]
      resources = ["${local.uploads_arn}/${var.upload_key_prefix}*"]
    }
  }

  routes = {
    "POST /uploads" = {}
  }
  jwt_authorizer = {
    issuer   = var.http_api.jwt_issuer
    audience = var.http_api.jwt_audience
  }
  cors_allowed_origins = var.http_api.cors_allowed_origins
  log_retention_days   = var.log_retention_days
}
