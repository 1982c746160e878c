# Partial configuration, like every root: -backend-config=../backends/<account>.s3.tfbackend
# -backend-config="key=bootstrap/terraform.tfstate". Applied by an administrator, once per account
# and whenever a root is added; CI only plans it.
terraform {
  backend "s3" {}
}
