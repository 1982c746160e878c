variable "aws_region" {
  description = "AWS region of the environments."
  type        = string
  default     = "us-east-1"
}

variable "github_repository" {
  description = "The GitHub repository (\"owner/name\") whose workflows may assume the roles."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.github_repository))
    error_message = "github_repository must be \"owner/name\"."
  }
}

variable "state_bucket" {
  description = "The S3 bucket holding every root's state (infra/backends/<environment>.s3.tfbackend): one key per root, <root>/terraform.tfstate."
  type        = string
}

variable "environments" {
  description = "Environments the workflows deploy, each a GitHub environment of the same name (prod's with required reviewers: the protected promotion)."
  type        = list(string)
  default     = ["dev", "prod"]

  validation {
    condition     = alltrue([for e in var.environments : can(regex("^[a-z][a-z0-9-]{0,15}$", e))])
    error_message = "environments must be names like dev or prod."
  }
}

variable "plan_branch" {
  description = "The branch whose scheduled drift plans use the plan roles (pull requests use them too)."
  type        = string
  default     = "main"
}

variable "create_oidc_provider" {
  description = "Create the account's GitHub OIDC provider; false where another stack already has it (it is one per account)."
  type        = bool
  default     = true
}
