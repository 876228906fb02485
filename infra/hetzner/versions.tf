terraform {
  required_version = ">= 1.6.0"

  required_providers {
    hcloud = {
      source  = "hetznercloud/hcloud"
      version = "~> 1.49"
    }
  }
}

# The token comes only from the 0600 tfvars file catalyst-api writes (never from the
# environment: catalyst-api sets no HCLOUD_TOKEN).
provider "hcloud" {
  token = var.hcloud_token
}
