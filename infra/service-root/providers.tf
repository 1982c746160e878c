provider "aws" {
  region            = var.aws_region
  s3_use_path_style = var.s3_use_path_style

  default_tags {
    tags = {
      Project     = "media-pipeline"
      Environment = var.environment
      Component   = local.service
      ManagedBy   = "terraform"
    }
  }
}
