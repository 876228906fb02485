# The same outputs as infra/hetzner; the addresses are the simulated ones (198.18.0.0/15).

output "control_plane_ip" {
  description = "Public IPv4 of the first control plane."
  value       = terraform_data.control_plane[0].output.ipv4
}

output "load_balancer_ip" {
  description = "Public IPv4 of the load balancer (the Sovereign's A records point here)."
  value       = terraform_data.load_balancer.output.ipv4
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
