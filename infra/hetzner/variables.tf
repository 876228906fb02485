# Inputs. Every key catalyst-api writes into tofu.auto.tfvars.json is declared here (an
# undeclared key would be a warning at best); the validations turn bad input into a plan-time
# error whose message catalyst-api streams to the wizard.

variable "sovereign_fqdn" {
  description = "Fully qualified domain name of the Sovereign, e.g. acme.omani.works."
  type        = string

  validation {
    # The same rule catalyst-api applies at create (RFC 1123 hostname, at least two labels).
    condition     = length(var.sovereign_fqdn) <= 253 && can(regex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$", var.sovereign_fqdn))
    error_message = "sovereign_fqdn must be a lowercase domain name such as acme.omani.works (RFC 1123: labels of 1-63 letters, digits and hyphens, not starting or ending with a hyphen; 253 characters at most)."
  }
}

variable "sovereign_subdomain" {
  description = "Pool subdomain label (pool mode), informational."
  type        = string
  default     = ""
}

variable "org_name" {
  description = "Organization name, written to /var/lib/catalyst/sovereign.json."
  type        = string
}

variable "org_email" {
  description = "Organization contact e-mail."
  type        = string

  validation {
    condition     = can(regex("^[^@]+@[^@]+\\.[^@]+$", var.org_email))
    error_message = "org_email must be an e-mail address such as ops@example.com."
  }
}

variable "hcloud_token" {
  description = "Hetzner Cloud API token (read/write) for the project the Sovereign lives in."
  type        = string
  sensitive   = true

  validation {
    condition     = length(trimspace(var.hcloud_token)) > 0
    error_message = "hcloud_token must not be empty."
  }
}

variable "hcloud_project_id" {
  description = "Hetzner Cloud project id, informational."
  type        = string
  default     = ""
}

variable "region" {
  description = "Hetzner location of the control plane and workers."
  type        = string

  validation {
    condition     = contains(["fsn1", "nbg1", "hel1", "ash", "hil"], var.region)
    error_message = "region must be one of fsn1, nbg1, hel1, ash, hil."
  }
}

variable "control_plane_size" {
  description = "Hetzner server type of the control plane node(s), e.g. cx32."
  type        = string

  validation {
    condition     = can(regex("^(cx|cpx|ccx|cax)[0-9]+$", var.control_plane_size))
    error_message = "control_plane_size must be a Hetzner server type such as cx32, cpx31, ccx23 or cax21."
  }
}

variable "worker_size" {
  description = "Hetzner server type of the workers; may be empty when worker_count is 0."
  type        = string
  default     = ""

  validation {
    condition     = var.worker_size == "" || can(regex("^(cx|cpx|ccx|cax)[0-9]+$", var.worker_size))
    error_message = "worker_size must be empty or a Hetzner server type such as cx32, cpx31, ccx23 or cax21."
  }
}

variable "worker_count" {
  description = "Number of worker nodes (0-50)."
  type        = number
  default     = 0

  validation {
    condition     = var.worker_count >= 0 && var.worker_count <= 50 && floor(var.worker_count) == var.worker_count
    error_message = "worker_count must be a whole number between 0 and 50."
  }
}

variable "ha_enabled" {
  description = "Three control-plane nodes (embedded etcd HA) instead of one."
  type        = bool
  default     = false
}

variable "regions" {
  description = "The request's per-region list (the first entry is mirrored into region/sizes/count)."
  type = list(object({
    provider         = string
    cloudRegion      = string
    controlPlaneSize = string
    workerSize       = string
    workerCount      = number
  }))
  default = []

  validation {
    condition     = alltrue([for r in var.regions : contains(["hetzner", "huawei", "oci", "aws", "azure"], r.provider)])
    error_message = "every regions[].provider must be one of hetzner, huawei, oci, aws, azure."
  }
}

variable "ssh_public_key" {
  description = "OpenSSH public key installed for root on every node."
  type        = string

  validation {
    condition     = can(regex("^(ssh-rsa |ssh-ed25519 |ecdsa-sha2-nistp(256|384|521) )", var.ssh_public_key))
    error_message = "ssh_public_key must be an OpenSSH public key starting with ssh-rsa, ssh-ed25519 or ecdsa-sha2-nistp256/384/521."
  }
}

variable "ssh_allowed_cidrs" {
  description = "Source CIDRs allowed to reach port 22; empty (the default) keeps SSH closed."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.ssh_allowed_cidrs : can(cidrhost(c, 0))])
    error_message = "every ssh_allowed_cidrs entry must be a CIDR such as 203.0.113.0/24."
  }
}

variable "domain_mode" {
  description = "pool (managed pool subdomain) or byo (customer's own domain)."
  type        = string

  validation {
    condition     = contains(["pool", "byo"], var.domain_mode)
    error_message = "domain_mode must be pool or byo."
  }
}

variable "pool_domain" {
  description = "Managed pool domain (pool mode), informational."
  type        = string
  default     = ""
}

variable "dynadot_key" {
  description = "Unused by this module (DNS is written by catalyst-api / PDM); kept for tfvars parity."
  type        = string
  default     = ""
  sensitive   = true
}

variable "dynadot_secret" {
  description = "Unused by this module (DNS is written by catalyst-api / PDM); kept for tfvars parity."
  type        = string
  default     = ""
  sensitive   = true
}

variable "gitops_repo_url" {
  description = "Git repository Flux reconciles on the new Sovereign."
  type        = string
  default     = "https://github.com/openova-io/openova"
}

variable "gitops_branch" {
  description = "Branch of gitops_repo_url."
  type        = string
  default     = "main"
}

variable "ghcr_pull_token" {
  description = "GHCR pull token for the flux-system/ghcr-pull Secret (docs/SECRET-ROTATION.md)."
  type        = string
  default     = ""
  sensitive   = true
}

variable "deployment_id" {
  description = "catalyst-api deployment id; labels every resource and addresses the kubeconfig postback."
  type        = string
  default     = ""
}

variable "kubeconfig_bearer_token" {
  description = "One-time bearer the control plane presents when it PUTs its kubeconfig back."
  type        = string
  default     = ""
  sensitive   = true
}

variable "catalyst_api_url" {
  description = "Public origin of catalyst-api the control plane PUTs its kubeconfig to."
  type        = string
  default     = ""
}

variable "k3s_version" {
  description = "k3s release installed on every node."
  type        = string
  default     = "v1.31.4+k3s1"
}
