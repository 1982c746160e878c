# Partial configuration: bucket, key, region and locking come from -backend-config at init
# (see infra/README.md and infra/backends/<environment>.s3.tfbackend).
terraform {
  backend "s3" {}
}
