output "control_plane_ip" {
  description = "Public IPv4 of the first control plane."
  value       = hcloud_server.control_plane[0].ipv4_address
}

output "load_balancer_ip" {
  description = "Public IPv4 of the load balancer (the Sovereign's A records point here)."
  value       = hcloud_load_balancer.main.ipv4
}

output "sovereign_fqdn" {
  value = var.sovereign_fqdn
}

output "console_url" {
  value = "https://console.${var.sovereign_fqdn}"
}

output "gitops_repo_url" {
  description = "The Sovereign's own Gitea (catalyst-api reports the same URL)."
  value       = "https://gitea.${var.sovereign_fqdn}"
}
