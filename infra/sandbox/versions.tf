# Built-in resources only (terraform_data + local-exec): nothing to download, so `init` works
# offline with OpenTofu or Terraform.
terraform {
  required_version = ">= 1.6.0"
}
