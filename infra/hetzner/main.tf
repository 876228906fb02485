# Phase 0 of a Catalyst Sovereign on Hetzner Cloud: private network, firewall, SSH key,
# lb11 load balancer and 1 (or 3 with ha_enabled) k3s control planes plus workers. Every
# resource is named catalyst-<fqdn-dashed>-... and labelled with the Sovereign and the
# catalyst-api deployment id, so orphans can be found with a label selector.
# DNS is not managed here (catalyst-api / pool-domain-manager write the records).

locals {
  fqdn_dashed = replace(var.sovereign_fqdn, ".", "-")

  # Server names are hostnames (<= 63 chars): very long FQDNs keep a stable hashed suffix.
  name_slug   = length(local.fqdn_dashed) <= 45 ? local.fqdn_dashed : "${substr(local.fqdn_dashed, 0, 34)}-${substr(sha256(var.sovereign_fqdn), 0, 10)}"
  name_prefix = "catalyst-${local.name_slug}"

  # Hetzner label values: <= 63 chars of [A-Za-z0-9._-], alphanumeric at both ends.
  sovereign_label = length(var.sovereign_fqdn) <= 63 ? var.sovereign_fqdn : "${substr(var.sovereign_fqdn, 0, 52)}-${substr(sha256(var.sovereign_fqdn), 0, 10)}"

  labels = {
    "catalyst.openova.io/sovereign" = local.sovereign_label
    "catalyst-deployment-id"        = var.deployment_id
  }

  network_zones = {
    fsn1 = "eu-central"
    nbg1 = "eu-central"
    hel1 = "eu-central"
    ash  = "us-east"
    hil  = "us-west"
  }

  network_cidr = "10.0.0.0/16"
  subnet_cidr  = "10.0.1.0/24"

  cp_count      = var.ha_enabled ? 3 : 1
  cp_ips        = [for i in range(local.cp_count) : cidrhost(local.subnet_cidr, 2 + i)]
  worker_ips    = [for i in range(var.worker_count) : cidrhost(local.subnet_cidr, 10 + i)]
  lb_private_ip = cidrhost(local.subnet_cidr, 254)
  api_url       = "https://${cidrhost(local.subnet_cidr, 2)}:6443"

  # Shared k3s join secret. Derived from the (secret) Hetzner token, not from public inputs,
  # so nobody who merely knows the FQDN can join a node; stable across retries.
  k3s_token = sha256("${var.hcloud_token}/${var.sovereign_fqdn}/k3s-bootstrap")

  # The load balancer: ingress NodePorts plus the Kubernetes API (the kubeconfig cloud-init
  # posts back points at https://<LB IPv4>:6443).
  lb_services = {
    http     = { listen_port = 80, destination_port = 31080 }
    https    = { listen_port = 443, destination_port = 31443 }
    kube-api = { listen_port = 6443, destination_port = 6443 }
  }

  public_tcp_ports = {
    "80"   = "HTTP"
    "443"  = "HTTPS"
    "6443" = "Kubernetes API"
  }
}

resource "hcloud_network" "main" {
  name     = "${local.name_prefix}-net"
  ip_range = local.network_cidr
  labels   = local.labels
}

resource "hcloud_network_subnet" "main" {
  network_id   = hcloud_network.main.id
  type         = "cloud"
  network_zone = local.network_zones[var.region]
  ip_range     = local.subnet_cidr
}

resource "hcloud_firewall" "main" {
  name   = "${local.name_prefix}-fw"
  labels = local.labels

  dynamic "rule" {
    for_each = local.public_tcp_ports
    content {
      description = rule.value
      direction   = "in"
      protocol    = "tcp"
      port        = rule.key
      source_ips  = ["0.0.0.0/0", "::/0"]
    }
  }

  rule {
    description = "ICMP"
    direction   = "in"
    protocol    = "icmp"
    source_ips  = ["0.0.0.0/0", "::/0"]
  }

  # SSH stays closed unless ssh_allowed_cidrs names who may connect.
  dynamic "rule" {
    for_each = length(var.ssh_allowed_cidrs) > 0 ? [var.ssh_allowed_cidrs] : []
    content {
      description = "SSH"
      direction   = "in"
      protocol    = "tcp"
      port        = "22"
      source_ips  = rule.value
    }
  }
}

resource "hcloud_ssh_key" "main" {
  name       = "${local.name_prefix}-ssh"
  public_key = var.ssh_public_key
  labels     = local.labels
}

resource "hcloud_load_balancer" "main" {
  name               = "${local.name_prefix}-lb"
  load_balancer_type = "lb11"
  location           = var.region
  labels             = local.labels
}

resource "hcloud_load_balancer_network" "main" {
  load_balancer_id = hcloud_load_balancer.main.id
  network_id       = hcloud_network.main.id
  ip               = local.lb_private_ip

  depends_on = [hcloud_network_subnet.main]
}

resource "hcloud_load_balancer_service" "main" {
  for_each = local.lb_services

  load_balancer_id = hcloud_load_balancer.main.id
  protocol         = "tcp"
  listen_port      = each.value.listen_port
  destination_port = each.value.destination_port
}

resource "hcloud_server" "control_plane" {
  count = local.cp_count

  name         = "${local.name_prefix}-cp${count.index + 1}"
  server_type  = var.control_plane_size
  image        = "ubuntu-24.04"
  location     = var.region
  ssh_keys     = [hcloud_ssh_key.main.id]
  firewall_ids = [hcloud_firewall.main.id]
  labels       = merge(local.labels, { "catalyst.openova.io/role" = "control-plane" })

  user_data = templatefile("${path.module}/cloudinit-control-plane.tftpl", {
    sovereign_fqdn          = var.sovereign_fqdn
    org_name                = var.org_name
    org_email               = var.org_email
    region                  = var.region
    node_index              = count.index + 1
    node_ip                 = local.cp_ips[count.index]
    join_url                = count.index == 0 ? "" : local.api_url
    api_private_ip          = local.cp_ips[0]
    lb_ipv4                 = hcloud_load_balancer.main.ipv4
    k3s_version             = var.k3s_version
    k3s_token               = local.k3s_token
    cilium_version          = "1.16.5"
    flux_version            = "v2.4.0"
    gitops_repo_url         = var.gitops_repo_url
    gitops_branch           = var.gitops_branch
    ghcr_pull_token         = var.ghcr_pull_token
    deployment_id           = var.deployment_id
    kubeconfig_bearer_token = var.kubeconfig_bearer_token
    catalyst_api_url        = var.catalyst_api_url
  })

  network {
    network_id = hcloud_network.main.id
    ip         = local.cp_ips[count.index]
  }

  public_net {
    ipv4_enabled = true
    ipv6_enabled = true
  }

  lifecycle {
    # user_data forces a new server: a retry with a fresh bearer (or a rotated GHCR token)
    # must not replace a running control plane.
    ignore_changes = [user_data, ssh_keys, image]
  }

  depends_on = [hcloud_network_subnet.main]
}

resource "hcloud_load_balancer_target" "control_plane" {
  count = local.cp_count

  type             = "server"
  load_balancer_id = hcloud_load_balancer.main.id
  server_id        = hcloud_server.control_plane[count.index].id
  use_private_ip   = true

  depends_on = [hcloud_load_balancer_network.main]
}

resource "hcloud_server" "worker" {
  count = var.worker_count

  name         = "${local.name_prefix}-w${count.index + 1}"
  server_type  = var.worker_size
  image        = "ubuntu-24.04"
  location     = var.region
  ssh_keys     = [hcloud_ssh_key.main.id]
  firewall_ids = [hcloud_firewall.main.id]
  labels       = merge(local.labels, { "catalyst.openova.io/role" = "worker" })

  user_data = templatefile("${path.module}/cloudinit-worker.tftpl", {
    sovereign_fqdn = var.sovereign_fqdn
    node_index     = count.index + 1
    node_ip        = local.worker_ips[count.index]
    server_url     = local.api_url
    k3s_version    = var.k3s_version
    k3s_token      = local.k3s_token
  })

  network {
    network_id = hcloud_network.main.id
    ip         = local.worker_ips[count.index]
  }

  public_net {
    ipv4_enabled = true
    ipv6_enabled = true
  }

  lifecycle {
    ignore_changes = [user_data, ssh_keys, image]

    precondition {
      condition     = var.worker_size != ""
      error_message = "worker_size must be set when worker_count is greater than 0."
    }
  }

  depends_on = [hcloud_network_subnet.main]
}
