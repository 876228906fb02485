"""Realistic-looking Kubernetes objects for the k8scache benchmarks (a Pod as a kubelet-managed
one looks after redaction: labels, owner reference, a container with env and resources, status)."""

from __future__ import annotations

from typing import Any


def pod(i: int, ns: str = "apps", rv: int = 1) -> dict[str, Any]:
    name = f"web-{i:06d}-7d9f8b6c5d-x{i % 97:02d}q"
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": ns,
            "uid": f"6f1c2a7e-{i:04x}-4b1d-9c55-{i:012x}",
            "resourceVersion": str(rv),
            "creationTimestamp": "2026-12-01T10:00:00Z",
            "labels": {"app": "web", "pod-template-hash": "7d9f8b6c5d", "shard": str(i % 10)},
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "name": "web-7d9f8b6c5d",
                    "uid": "0b8e1f3a-1111-4c2d-8e9f-a0b1c2d3e4f5",
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": {
            "nodeName": f"node-{i % 12}",
            "containers": [
                {
                    "name": "web",
                    "image": "ghcr.io/example/web:1.4.2",
                    "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                    "resources": {
                        "requests": {"cpu": "100m", "memory": "128Mi"},
                        "limits": {"memory": "256Mi"},
                    },
                }
            ],
            "restartPolicy": "Always",
            "serviceAccountName": "web",
        },
        "status": {
            "phase": "Running",
            "podIP": f"10.42.{i // 250 % 250}.{i % 250}",
            "hostIP": f"192.168.0.{i % 12}",
            "startTime": "2026-12-01T10:00:02Z",
            "conditions": [
                {"type": "Ready", "status": "True", "lastTransitionTime": "2026-12-01T10:00:09Z"}
            ],
        },
    }
