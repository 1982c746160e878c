provider "aws" {
  region = var.aws_region

  default_tags {
    tags = {
      Project   = "media-pipeline"
      Component = "bootstrap"
      ManagedBy = "terraform"
    }
  }
}
