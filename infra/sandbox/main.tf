# The sandbox twin of infra/hetzner: the same variables, resources of the same shape and the
# same outputs, but every resource is a built-in `terraform_data` whose local-exec asks the
# sandbox cloud (served by catalyst-api under <catalyst_api_url>/sandbox/hetzner/v1) to create
# or delete it. Creating the first control plane hands the sandbox the inputs the real
# cloud-init gets, and the sandbox boots a simulated Sovereign that PUTs its kubeconfig back.
#
# Secrets (hcloud_token, kubeconfig_bearer_token, ghcr_pull_token) reach the client script only
# through local-exec `environment`, never a command line or `input` (input is stored in the
# state). With a sensitive value in its configuration OpenTofu suppresses the provisioner's
# output; the script prints nothing secret anyway, because errors show its output.

locals {
  fqdn_dashed = replace(var.sovereign_fqdn, ".", "-")

  # Same naming rules as infra/hetzner.
  name_slug   = length(local.fqdn_dashed) <= 45 ? local.fqdn_dashed : "${substr(local.fqdn_dashed, 0, 34)}-${substr(sha256(var.sovereign_fqdn), 0, 10)}"
  name_prefix = "catalyst-${local.name_slug}"

  sovereign_label = length(var.sovereign_fqdn) <= 63 ? var.sovereign_fqdn : "${substr(var.sovereign_fqdn, 0, 52)}-${substr(sha256(var.sovereign_fqdn), 0, 10)}"

  labels = {
    "catalyst.openova.io/sovereign" = local.sovereign_label
    "catalyst-deployment-id"        = var.deployment_id
  }

  network_cidr = "10.0.0.0/16"
  subnet_cidr  = "10.0.1.0/24"

  cp_count      = var.ha_enabled ? 3 : 1
  cp_ips        = [for i in range(local.cp_count) : cidrhost(local.subnet_cidr, 2 + i)]
  worker_ips    = [for i in range(var.worker_count) : cidrhost(local.subnet_cidr, 10 + i)]
  lb_private_ip = cidrhost(local.subnet_cidr, 254)

  # Simulated public addresses, stable per Sovereign, from the benchmarking range
  # 198.18.0.0/15 (never routed on the Internet).
  public_range = "198.18.0.0/15"
  lb_ipv4      = cidrhost(local.public_range, 1 + parseint(substr(sha256("${var.sovereign_fqdn}/lb"), 0, 4), 16))
  cp_ipv4      = [for i in range(local.cp_count) : cidrhost(local.public_range, 1 + parseint(substr(sha256("${var.sovereign_fqdn}/cp${i + 1}"), 0, 4), 16))]
  worker_ipv4  = [for i in range(var.worker_count) : cidrhost(local.public_range, 1 + parseint(substr(sha256("${var.sovereign_fqdn}/w${i + 1}"), 0, 4), 16))]

  lb_services = {
    http     = { listen_port = 80, destination_port = 31080 }
    https    = { listen_port = 443, destination_port = 31443 }
    kube-api = { listen_port = 6443, destination_port = 6443 }
  }

  # What every resource records (and destroy-time provisioners read back from self.input).
  common = {
    cloud_url      = "${trimsuffix(var.catalyst_api_url, "/")}/sandbox/hetzner/v1"
    client         = "${path.module}/sandbox-cloud.py.tftpl"
    deployment_id  = var.deployment_id
    sovereign_fqdn = var.sovereign_fqdn
    labels         = local.labels
  }
}

resource "terraform_data" "network" {
  input = merge(local.common, {
    kind     = "networks"
    name     = "${local.name_prefix}-net"
    ip_range = local.network_cidr
  })

  lifecycle {
    precondition {
      condition     = trimspace(var.catalyst_api_url) != ""
      error_message = "catalyst_api_url must be set: the sandbox cloud is served by catalyst-api under <catalyst_api_url>/sandbox/."
    }
  }

  provisioner "local-exec" {
    interpreter = ["python3"]
    command     = self.input.client
    environment = {
      SANDBOX_CLOUD_URL = self.input.cloud_url
      SANDBOX_CREATE    = jsonencode(self.input)
      HCLOUD_TOKEN      = var.hcloud_token
    }
  }

  provisioner "local-exec" {
    when        = destroy
    interpreter = ["python3"]
    command     = self.input.client
    environment = {
      SANDBOX_CLOUD_URL = self.input.cloud_url
      SANDBOX_DELETE    = "${self.input.kind}/${self.input.name}"
    }
  }
}

resource "terraform_data" "network_subnet" {
  input = merge(local.common, {
    kind       = "subnets"
    name       = "${local.name_prefix}-subnet"
    network_id = terraform_data.network.id
    ip_range   = local.subnet_cidr
  })

  provisioner "local-exec" {
    interpreter = ["python3"]
    command     = self.input.client
    environment = {
      SANDBOX_CLOUD_URL = self.input.cloud_url
      SANDBOX_CREATE    = jsonencode(self.input)
      HCLOUD_TOKEN      = var.hcloud_token
    }
  }

  provisioner "local-exec" {
    when        = destroy
    interpreter = ["python3"]
    command     = self.input.client
    environment = {
      SANDBOX_CLOUD_URL = self.input.cloud_url
      SANDBOX_DELETE    = "${self.input.kind}/${self.input.name}"
    }
  }
}

resource "terraform_data" "firewall" {
  input = merge(local.common, {
    kind      = "firewalls"
    name      = "${local.name_prefix}-fw"
    tcp_ports = ["80", "443", "6443"]
    ssh_from  = var.ssh_allowed_cidrs
  })

  provisioner "local-exec" {
    interpreter = ["python3"]
    command     = self.input.client
    environment = {
      SANDBOX_CLOUD_URL = self.input.cloud_url
      SANDBOX_CREATE    = jsonencode(self.input)
      HCLOUD_TOKEN      = var.hcloud_token
    }
  }

  provisioner "local-exec" {
    when        = destroy
    interpreter = ["python3"]
    command     = self.input.client
    environment = {
      SANDBOX_CLOUD_URL = self.input.cloud_url
      SANDBOX_DELETE    = "${self.input.kind}/${self.input.name}"
    }
  }
}

resource "terraform_data" "ssh_key" {
  input = merge(local.common, {
    kind        = "ssh_keys"
    name        = "${local.name_prefix}-ssh"
    fingerprint = substr(sha256(var.ssh_public_key), 0, 32)
  })

  provisioner "local-exec" {
    interpreter = ["python3"]
    command     = self.input.client
    environment = {
      SANDBOX_CLOUD_URL = self.input.cloud_url
      SANDBOX_CREATE    = jsonencode(self.input)
      HCLOUD_TOKEN      = var.hcloud_token
    }
  }

  provisioner "local-exec" {
    when        = destroy
    interpreter = ["python3"]
    command     = self.input.client
    environment = {
      SANDBOX_CLOUD_URL = self.input.cloud_url
      SANDBOX_DELETE    = "${self.input.kind}/${self.input.name}"
    }
  }
}

resource "terraform_data" "load_balancer" {
  input = merge(local.common, {
    kind     = "load_balancers"
    name     = "${local.name_prefix}-lb"
    type     = "lb11"
    location = var.region
    ipv4     = local.lb_ipv4
  })

  provisioner "local-exec" {
    interpreter = ["python3"]
    command     = self.input.client
    environment = {
      SANDBOX_CLOUD_URL = self.input.cloud_url
      SANDBOX_CREATE    = jsonencode(self.input)
      HCLOUD_TOKEN      = var.hcloud_token
    }
  }

  provisioner "local-exec" {
    when        = destroy
    interpreter = ["python3"]
    command     = self.input.client
    environment = {
      SANDBOX_CLOUD_URL = self.input.cloud_url
      SANDBOX_DELETE    = "${self.input.kind}/${self.input.name}"
    }
  }
}

resource "terraform_data" "load_balancer_network" {
  input = merge(local.common, {
    kind             = "load_balancer_networks"
    name             = "${local.name_prefix}-lb-net"
    load_balancer_id = terraform_data.load_balancer.id
    network_id       = terraform_data.network_subnet.output.network_id
    ip               = local.lb_private_ip
  })

  provisioner "local-exec" {
    interpreter = ["python3"]
    command     = self.input.client
    environment = {
      SANDBOX_CLOUD_URL = self.input.cloud_url
      SANDBOX_CREATE    = jsonencode(self.input)
      HCLOUD_TOKEN      = var.hcloud_token
    }
  }

  provisioner "local-exec" {
    when        = destroy
    interpreter = ["python3"]
    command     = self.input.client
    environment = {
      SANDBOX_CLOUD_URL = self.input.cloud_url
      SANDBOX_DELETE    = "${self.input.kind}/${self.input.name}"
    }
  }
}

resource "terraform_data" "load_balancer_service" {
  for_each = local.lb_services

  input = merge(local.common, {
    kind             = "load_balancer_services"
    name             = "${local.name_prefix}-lb-${each.key}"
    load_balancer_id = terraform_data.load_balancer.id
    protocol         = "tcp"
    listen_port      = each.value.listen_port
    destination_port = each.value.destination_port
  })

  provisioner "local-exec" {
    interpreter = ["python3"]
    command     = self.input.client
    environment = {
      SANDBOX_CLOUD_URL = self.input.cloud_url
      SANDBOX_CREATE    = jsonencode(self.input)
      HCLOUD_TOKEN      = var.hcloud_token
    }
  }

  provisioner "local-exec" {
    when        = destroy
    interpreter = ["python3"]
    command     = self.input.client
    environment = {
      SANDBOX_CLOUD_URL = self.input.cloud_url
      SANDBOX_DELETE    = "${self.input.kind}/${self.input.name}"
    }
  }
}

resource "terraform_data" "control_plane" {
  count = local.cp_count

  input = merge(local.common, {
    kind        = "servers"
    name        = "${local.name_prefix}-cp${count.index + 1}"
    role        = "control-plane"
    server_type = var.control_plane_size
    image       = "ubuntu-24.04"
    location    = var.region
    private_ip  = local.cp_ips[count.index]
    ipv4        = local.cp_ipv4[count.index]
    network_id  = terraform_data.network_subnet.output.network_id
    firewall_id = terraform_data.firewall.id
    ssh_key_id  = terraform_data.ssh_key.id
    # The first control plane's cloud-init inputs (the secrets travel in the environment).
    boot = count.index == 0 ? {
      deployment_id    = var.deployment_id
      catalyst_api_url = var.catalyst_api_url
      org_name         = var.org_name
      org_email        = var.org_email
      region           = var.region
      lb_ipv4          = terraform_data.load_balancer.output.ipv4
      k3s_version      = var.k3s_version
      gitops_repo_url  = var.gitops_repo_url
      gitops_branch    = var.gitops_branch
    } : null
  })

  provisioner "local-exec" {
    interpreter = ["python3"]
    command     = self.input.client
    environment = {
      SANDBOX_CLOUD_URL       = self.input.cloud_url
      SANDBOX_CREATE          = jsonencode(self.input)
      HCLOUD_TOKEN            = var.hcloud_token
      KUBECONFIG_BEARER_TOKEN = count.index == 0 ? var.kubeconfig_bearer_token : ""
      GHCR_PULL_TOKEN         = count.index == 0 ? var.ghcr_pull_token : ""
    }
  }

  provisioner "local-exec" {
    when        = destroy
    interpreter = ["python3"]
    command     = self.input.client
    environment = {
      SANDBOX_CLOUD_URL = self.input.cloud_url
      SANDBOX_DELETE    = "${self.input.kind}/${self.input.name}"
    }
  }
}

resource "terraform_data" "load_balancer_target" {
  count = local.cp_count

  input = merge(local.common, {
    kind             = "load_balancer_targets"
    name             = "${local.name_prefix}-lb-cp${count.index + 1}"
    load_balancer_id = terraform_data.load_balancer_network.output.load_balancer_id
    server_id        = terraform_data.control_plane[count.index].id
    use_private_ip   = true
  })

  provisioner "local-exec" {
    interpreter = ["python3"]
    command     = self.input.client
    environment = {
      SANDBOX_CLOUD_URL = self.input.cloud_url
      SANDBOX_CREATE    = jsonencode(self.input)
      HCLOUD_TOKEN      = var.hcloud_token
    }
  }

  provisioner "local-exec" {
    when        = destroy
    interpreter = ["python3"]
    command     = self.input.client
    environment = {
      SANDBOX_CLOUD_URL = self.input.cloud_url
      SANDBOX_DELETE    = "${self.input.kind}/${self.input.name}"
    }
  }
}

resource "terraform_data" "worker" {
  count = var.worker_count

  input = merge(local.common, {
    kind        = "servers"
    name        = "${local.name_prefix}-w${count.index + 1}"
    role        = "worker"
    server_type = var.worker_size
    image       = "ubuntu-24.04"
    location    = var.region
    private_ip  = local.worker_ips[count.index]
    ipv4        = local.worker_ipv4[count.index]
    network_id  = terraform_data.network_subnet.output.network_id
    firewall_id = terraform_data.firewall.id
    ssh_key_id  = terraform_data.ssh_key.id
  })

  lifecycle {
    precondition {
      condition     = var.worker_size != ""
      error_message = "worker_size must be set when worker_count is greater than 0."
    }
  }

  provisioner "local-exec" {
    interpreter = ["python3"]
    command     = self.input.client
    environment = {
      SANDBOX_CLOUD_URL = self.input.cloud_url
      SANDBOX_CREATE    = jsonencode(self.input)
      HCLOUD_TOKEN      = var.hcloud_token
    }
  }

  provisioner "local-exec" {
    when        = destroy
    interpreter = ["python3"]
    command     = self.input.client
    environment = {
      SANDBOX_CLOUD_URL = self.input.cloud_url
      SANDBOX_DELETE    = "${self.input.kind}/${self.input.name}"
    }
  }
}
