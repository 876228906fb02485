"""A fake `hetznercloud/hcloud` OpenTofu/Terraform provider, for offline tests of infra/hetzner.

Run as a plugin executable (see `mirror.py`, which lays out a filesystem mirror whose
`terraform-provider-hcloud_v<version>` launcher execs this file). Built on the PyPI package
`tf` (plugin protocol 6).

What it mirrors from terraform-provider-hcloud 1.49: the resource type names, attribute names,
types, optional/required/computed flags and the replace-forcing attributes of the resources
infra/hetzner uses (`hcloud_network`, `hcloud_network_subnet`, `hcloud_firewall`,
`hcloud_ssh_key`, `hcloud_server`, `hcloud_load_balancer`, `hcloud_load_balancer_network`,
`hcloud_load_balancer_target`, `hcloud_load_balancer_service`, `hcloud_server_network`), and
two behaviours tests rely on:
- `hcloud_server.user_data` is stored as base64(sha1(user_data)) in plan and state, as the real
  provider's StateFunc does (the state never holds the rendered cloud-init and its secrets);
- Hetzner API input rules that fail at apply time: label keys/values, server/resource names,
  locations.

What it fakes: there is no cloud. Ids and IPs are deterministic functions of the resource's
name (servers 203.0.113.x, load balancers 198.51.100.x, IPv6 in 2001:db8::/32), so two runs
agree; `read` returns the state it is given. A provider `token` starting with `invalid` fails
configuration like a rejected token does.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import ipaddress
import re
import sys
import zlib
from typing import Any, ClassVar

from msgpack import ExtType  # type: ignore[import-untyped]
from tf import provider as tf_provider
from tf import runner
from tf.blocks import SetNestedBlock
from tf.gen import tfplugin_pb2 as pb
from tf.iface import (
    Config,
    CreateContext,
    DataSource,
    DeleteContext,
    ReadContext,
    Resource,
    State,
    UpdateContext,
)
from tf.schema import Attribute, Block, Schema
from tf.types import Bool, List, Map, Number, Set, String, Unknown
from tf.utils import Diagnostics, read_dynamic_value, to_dynamic_value

FULL_NAME = "registry.terraform.io/hetznercloud/hcloud"

LOCATIONS = {
    "fsn1": ("eu-central", "fsn1-dc14"),
    "nbg1": ("eu-central", "nbg1-dc3"),
    "hel1": ("eu-central", "hel1-dc2"),
    "ash": ("us-east", "ash-dc1"),
    "hil": ("us-west", "hil-dc1"),
    "sin": ("ap-southeast", "sin-dc1"),
}
NETWORK_ZONES = {"eu-central", "us-east", "us-west", "ap-southeast"}

_LABEL_PART = re.compile(r"^(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")
_LABEL_PREFIX = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_HOSTNAME = re.compile(
    r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)
_SERVER_TYPE = re.compile(r"^(cx|cpx|ccx|cax)[0-9]+$")


def user_data_hash(user_data: str) -> str:
    """What the real provider stores for `user_data`: base64(sha1(user_data))."""
    return base64.b64encode(hashlib.sha1(user_data.encode()).digest()).decode()


def fake_id(kind: str, key: str) -> int:
    """A stable 7-digit id for (resource kind, name)."""
    return 1_000_000 + zlib.crc32(f"{kind}:{key}".encode()) % 9_000_000


def fake_ipv4(prefix: str, key: str) -> str:
    return f"{prefix}.{1 + zlib.crc32(key.encode()) % 254}"


def fake_ipv6(key: str) -> str:
    return f"2001:db8:{zlib.crc32(key.encode()) % 0xFFFF:x}::1"


def _is_known(value: Any) -> bool:
    return value is not None and value is not Unknown


def _check_labels(ctx: Any, labels: Any) -> None:
    for key, value in (labels or {}).items():
        prefix, _, name = key.rpartition("/")
        key_ok = (
            0 < len(name) <= 63
            and _LABEL_PART.match(name) is not None
            and (not prefix or (len(prefix) <= 253 and _LABEL_PREFIX.match(prefix) is not None))
        )
        if not key_ok:
            ctx.diagnostics.add_error(
                "invalid input in field 'labels' (invalid_input)", f"label key {key!r} is invalid"
            )
        if value is None or len(value) > 63 or _LABEL_PART.match(value) is None:
            ctx.diagnostics.add_error(
                "invalid input in field 'labels' (invalid_input)",
                f"label value {value!r} for key {key!r} is invalid",
            )


def _check_name(ctx: Any, name: Any) -> None:
    if not isinstance(name, str) or len(name) > 253 or _HOSTNAME.match(name) is None:
        ctx.diagnostics.add_error(
            "invalid input in field 'name' (invalid_input)", f"name {name!r} is invalid"
        )


def _check_location(ctx: Any, location: Any) -> None:
    if _is_known(location) and location not in LOCATIONS:
        ctx.diagnostics.add_error(
            "location not found (invalid_input)", f"location {location!r} does not exist"
        )


class _FakeResource(Resource):  # type: ignore[misc]
    """Create = fill computed attributes; read = echo; update = keep computed; delete = no-op."""

    NAME: ClassVar[str]
    ATTRIBUTES: ClassVar[list[Attribute]]
    BLOCKS: ClassVar[list[SetNestedBlock]] = []

    def __init__(self, provider: HcloudProvider) -> None:
        self.provider = provider

    @classmethod
    def get_name(cls) -> str:
        return cls.NAME

    @classmethod
    def get_schema(cls) -> Schema:
        # version 0 (not None): no "default upgrade" warning on every refresh.
        return Schema(version=0, attributes=cls.ATTRIBUTES, block_types=cls.BLOCKS)

    def check(self, ctx: Any, state: State) -> None:
        """Hetzner API input validation (apply time)."""

    def fill(self, state: State) -> State:
        """Values for the computed attributes of a new object."""
        return state

    def create(self, ctx: CreateContext, planned: State) -> State | None:
        self.check(ctx, planned)
        if ctx.diagnostics.has_errors():
            return None
        state = self.fill(copy.deepcopy(planned))
        return {k: (None if v is Unknown else v) for k, v in state.items()}

    def read(self, ctx: ReadContext, current: State) -> State | None:
        return current

    def update(self, ctx: UpdateContext, current: State, planned: State) -> State | None:
        self.check(ctx, planned)
        if ctx.diagnostics.has_errors():
            return None
        merged = {k: (current.get(k) if v is Unknown else v) for k, v in planned.items()}
        return self.fill(merged)

    def delete(self, ctx: DeleteContext, current: State) -> None:
        return None


def _id() -> Attribute:
    return Attribute("id", String(), computed=True)


def _labels() -> Attribute:
    return Attribute("labels", Map(String()), optional=True)


class NetworkResource(_FakeResource):
    NAME = "network"
    ATTRIBUTES = [
        _id(),
        Attribute("name", String(), required=True),
        Attribute("ip_range", String(), required=True, requires_replace=True),
        _labels(),
        Attribute("delete_protection", Bool(), optional=True),
        Attribute("expose_routes_to_vswitch", Bool(), optional=True),
    ]

    def check(self, ctx: Any, state: State) -> None:
        _check_name(ctx, state.get("name"))
        _check_labels(ctx, state.get("labels"))

    def fill(self, state: State) -> State:
        if not _is_known(state.get("id")):
            state["id"] = str(fake_id("network", state["name"]))
        return state


class NetworkSubnetResource(_FakeResource):
    NAME = "network_subnet"
    ATTRIBUTES = [
        _id(),
        Attribute("network_id", Number(), required=True, requires_replace=True),
        Attribute("type", String(), required=True, requires_replace=True),
        Attribute("network_zone", String(), required=True, requires_replace=True),
        Attribute("ip_range", String(), required=True, requires_replace=True),
        Attribute("vswitch_id", Number(), optional=True, requires_replace=True),
        Attribute("gateway", String(), computed=True),
    ]

    def check(self, ctx: Any, state: State) -> None:
        if state.get("type") not in ("cloud", "server", "vswitch"):
            ctx.diagnostics.add_error("invalid input in field 'type' (invalid_input)")
        if state.get("network_zone") not in NETWORK_ZONES:
            ctx.diagnostics.add_error("invalid input in field 'network_zone' (invalid_input)")

    def fill(self, state: State) -> State:
        state["id"] = f"{state['network_id']}-{state['ip_range']}"
        if not _is_known(state.get("gateway")):
            state["gateway"] = str(next(ipaddress.ip_network(state["ip_range"]).hosts()))
        return state


class FirewallResource(_FakeResource):
    NAME = "firewall"
    ATTRIBUTES = [
        _id(),
        Attribute("name", String(), required=True),
        _labels(),
    ]
    BLOCKS = [
        SetNestedBlock(
            "rule",
            Block(
                attributes=[
                    Attribute("direction", String(), required=True),
                    Attribute("protocol", String(), required=True),
                    Attribute("port", String(), optional=True),
                    Attribute("source_ips", Set(String()), optional=True),
                    Attribute("destination_ips", Set(String()), optional=True),
                    Attribute("description", String(), optional=True),
                ]
            ),
        ),
        SetNestedBlock(
            "apply_to",
            Block(
                attributes=[
                    Attribute("label_selector", String(), optional=True),
                    Attribute("server", Number(), optional=True),
                ]
            ),
        ),
    ]

    def check(self, ctx: Any, state: State) -> None:
        _check_name(ctx, state.get("name"))
        _check_labels(ctx, state.get("labels"))
        for rule in state.get("rule") or []:
            if rule.get("direction") not in ("in", "out"):
                ctx.diagnostics.add_error("invalid input in field 'direction' (invalid_input)")
            protocol = rule.get("protocol")
            if protocol not in ("tcp", "udp", "icmp", "gre", "esp"):
                ctx.diagnostics.add_error("invalid input in field 'protocol' (invalid_input)")
            if protocol in ("tcp", "udp") and not rule.get("port"):
                ctx.diagnostics.add_error("port is required for tcp/udp rules (invalid_input)")
            if rule.get("direction") == "in" and not rule.get("source_ips"):
                ctx.diagnostics.add_error("source_ips are required for in rules (invalid_input)")

    def fill(self, state: State) -> State:
        if not _is_known(state.get("id")):
            state["id"] = str(fake_id("firewall", state["name"]))
        return state


class SshKeyResource(_FakeResource):
    NAME = "ssh_key"
    ATTRIBUTES = [
        _id(),
        Attribute("name", String(), required=True),
        Attribute("public_key", String(), required=True, requires_replace=True),
        Attribute("fingerprint", String(), computed=True),
        _labels(),
    ]

    def check(self, ctx: Any, state: State) -> None:
        _check_labels(ctx, state.get("labels"))

    def fill(self, state: State) -> State:
        if not _is_known(state.get("id")):
            state["id"] = str(fake_id("ssh_key", state["name"]))
        parts = str(state.get("public_key") or "").split()
        try:
            blob = base64.b64decode(parts[1], validate=True) if len(parts) > 1 else b""
        except ValueError:
            blob = str(state.get("public_key")).encode()
        digest = hashlib.md5(blob).hexdigest()
        state["fingerprint"] = ":".join(digest[i : i + 2] for i in range(0, 32, 2))
        return state


class ServerResource(_FakeResource):
    NAME = "server"
    ATTRIBUTES = [
        _id(),
        Attribute("name", String(), required=True),
        Attribute("server_type", String(), required=True),
        Attribute("image", String(), optional=True, requires_replace=True),
        Attribute("location", String(), optional=True, computed=True, requires_replace=True),
        Attribute("datacenter", String(), optional=True, computed=True, requires_replace=True),
        Attribute("user_data", String(), optional=True, requires_replace=True),
        Attribute("ssh_keys", List(String()), optional=True, requires_replace=True),
        Attribute("firewall_ids", Set(Number()), optional=True),
        Attribute("ignore_remote_firewall_ids", Bool(), optional=True),
        _labels(),
        Attribute("backups", Bool(), optional=True),
        Attribute("keep_disk", Bool(), optional=True),
        Attribute("iso", String(), optional=True),
        Attribute("rescue", String(), optional=True),
        Attribute("placement_group_id", Number(), optional=True),
        Attribute("delete_protection", Bool(), optional=True),
        Attribute("rebuild_protection", Bool(), optional=True),
        Attribute("allow_deprecated_images", Bool(), optional=True),
        Attribute("shutdown_before_deletion", Bool(), optional=True),
        Attribute("ipv4_address", String(), computed=True),
        Attribute("ipv6_address", String(), computed=True),
        Attribute("ipv6_network", String(), computed=True),
        Attribute("status", String(), computed=True),
        Attribute("backup_window", String(), computed=True),
        Attribute("primary_disk_size", Number(), computed=True),
    ]
    BLOCKS = [
        SetNestedBlock(
            "network",
            Block(
                attributes=[
                    Attribute("network_id", Number(), required=True),
                    Attribute("ip", String(), optional=True),
                    Attribute("alias_ips", Set(String()), optional=True),
                    Attribute("mac_address", String(), computed=True),
                ]
            ),
        ),
        SetNestedBlock(
            "public_net",
            Block(
                attributes=[
                    Attribute("ipv4_enabled", Bool(), optional=True),
                    Attribute("ipv4", Number(), optional=True),
                    Attribute("ipv6_enabled", Bool(), optional=True),
                    Attribute("ipv6", Number(), optional=True),
                ]
            ),
        ),
    ]

    def check(self, ctx: Any, state: State) -> None:
        _check_name(ctx, state.get("name"))
        _check_labels(ctx, state.get("labels"))
        _check_location(ctx, state.get("location"))
        if not _SERVER_TYPE.match(str(state.get("server_type") or "")):
            ctx.diagnostics.add_error(
                "server type not found (invalid_input)",
                f"server type {state.get('server_type')!r} does not exist",
            )
        for net in state.get("network") or []:
            ip = net.get("ip")
            if _is_known(ip):
                ipaddress.ip_address(ip)

    def fill(self, state: State) -> State:
        name = state["name"]
        if not _is_known(state.get("id")):
            state["id"] = str(fake_id("server", name))
        if not _is_known(state.get("location")):
            state["location"] = "fsn1"
        if not _is_known(state.get("datacenter")):
            state["datacenter"] = LOCATIONS.get(state["location"], ("", "fsn1-dc14"))[1]
        defaults = {
            "ipv4_address": fake_ipv4("203.0.113", name),
            "ipv6_address": fake_ipv6(name),
            "ipv6_network": fake_ipv6(name).replace("::1", "::/64"),
            "status": "running",
            "backup_window": "",
            "primary_disk_size": 40,
        }
        for key, value in defaults.items():
            if not _is_known(state.get(key)):
                state[key] = value
        return state


class ServerNetworkResource(_FakeResource):
    NAME = "server_network"
    ATTRIBUTES = [
        _id(),
        Attribute("server_id", Number(), required=True, requires_replace=True),
        Attribute("network_id", Number(), optional=True, requires_replace=True),
        Attribute("subnet_id", String(), optional=True, requires_replace=True),
        Attribute("ip", String(), optional=True, computed=True, requires_replace=True),
        Attribute("alias_ips", Set(String()), optional=True),
        Attribute("mac_address", String(), computed=True),
    ]

    def fill(self, state: State) -> State:
        network = state.get("network_id") or str(state.get("subnet_id") or "").split("-")[0]
        state["id"] = f"{state['server_id']}-{network}"
        if not _is_known(state.get("ip")):
            state["ip"] = "10.0.1.100"
        if not _is_known(state.get("mac_address")):
            state["mac_address"] = "86:00:00:00:00:01"
        return state


class LoadBalancerResource(_FakeResource):
    NAME = "load_balancer"
    ATTRIBUTES = [
        _id(),
        Attribute("name", String(), required=True),
        Attribute("load_balancer_type", String(), required=True),
        Attribute("location", String(), optional=True, computed=True, requires_replace=True),
        Attribute("network_zone", String(), optional=True, computed=True, requires_replace=True),
        _labels(),
        Attribute("delete_protection", Bool(), optional=True),
        Attribute("ipv4", String(), computed=True),
        Attribute("ipv6", String(), computed=True),
        Attribute("network_id", Number(), computed=True),
        Attribute("network_ip", String(), computed=True),
    ]
    BLOCKS = [
        SetNestedBlock("algorithm", Block(attributes=[Attribute("type", String(), optional=True)]))
    ]

    def check(self, ctx: Any, state: State) -> None:
        _check_name(ctx, state.get("name"))
        _check_labels(ctx, state.get("labels"))
        _check_location(ctx, state.get("location"))
        if state.get("load_balancer_type") not in ("lb11", "lb21", "lb31"):
            ctx.diagnostics.add_error("load balancer type not found (invalid_input)")

    def fill(self, state: State) -> State:
        name = state["name"]
        if not _is_known(state.get("id")):
            state["id"] = str(fake_id("load_balancer", name))
        if not _is_known(state.get("location")):
            state["location"] = "fsn1"
        if not _is_known(state.get("network_zone")):
            state["network_zone"] = LOCATIONS.get(state["location"], ("eu-central", ""))[0]
        for key, value in (("ipv4", fake_ipv4("198.51.100", name)), ("ipv6", fake_ipv6(name))):
            if not _is_known(state.get(key)):
                state[key] = value
        return state


class LoadBalancerNetworkResource(_FakeResource):
    NAME = "load_balancer_network"
    ATTRIBUTES = [
        _id(),
        Attribute("load_balancer_id", Number(), required=True, requires_replace=True),
        Attribute("network_id", Number(), optional=True, requires_replace=True),
        Attribute("subnet_id", String(), optional=True, requires_replace=True),
        Attribute("ip", String(), optional=True, computed=True, requires_replace=True),
        Attribute("enable_public_interface", Bool(), optional=True, computed=True),
    ]

    def fill(self, state: State) -> State:
        network = state.get("network_id") or str(state.get("subnet_id") or "").split("-")[0]
        state["id"] = f"{state['load_balancer_id']}-{network}"
        if not _is_known(state.get("ip")):
            state["ip"] = "10.0.1.254"
        if not _is_known(state.get("enable_public_interface")):
            state["enable_public_interface"] = True
        return state


class LoadBalancerTargetResource(_FakeResource):
    NAME = "load_balancer_target"
    ATTRIBUTES = [
        _id(),
        Attribute("type", String(), required=True, requires_replace=True),
        Attribute("load_balancer_id", Number(), required=True, requires_replace=True),
        Attribute("server_id", Number(), optional=True, requires_replace=True),
        Attribute("label_selector", String(), optional=True, requires_replace=True),
        Attribute("ip", String(), optional=True, requires_replace=True),
        Attribute("use_private_ip", Bool(), optional=True, computed=True),
    ]

    def check(self, ctx: Any, state: State) -> None:
        kind = state.get("type")
        if kind not in ("server", "label_selector", "ip"):
            ctx.diagnostics.add_error("invalid input in field 'type' (invalid_input)")
        if kind == "server" and not _is_known(state.get("server_id")):
            ctx.diagnostics.add_error("server_id is required for server targets")

    def fill(self, state: State) -> State:
        target = state.get("server_id") or state.get("label_selector") or state.get("ip")
        state["id"] = f"lb-target-{state['load_balancer_id']}-{state['type']}-{target}"
        if not _is_known(state.get("use_private_ip")):
            state["use_private_ip"] = False
        return state


class LoadBalancerServiceResource(_FakeResource):
    NAME = "load_balancer_service"
    ATTRIBUTES = [
        _id(),
        Attribute("load_balancer_id", String(), required=True, requires_replace=True),
        Attribute("protocol", String(), required=True),
        Attribute("listen_port", Number(), optional=True, computed=True, requires_replace=True),
        Attribute("destination_port", Number(), optional=True, computed=True),
        Attribute("proxyprotocol", Bool(), optional=True, computed=True),
    ]

    def check(self, ctx: Any, state: State) -> None:
        if state.get("protocol") not in ("tcp", "http", "https"):
            ctx.diagnostics.add_error("invalid input in field 'protocol' (invalid_input)")

    def fill(self, state: State) -> State:
        default_port = {"http": 80, "https": 443}.get(state.get("protocol") or "", 80)
        for key in ("listen_port", "destination_port"):
            if not _is_known(state.get(key)):
                state[key] = default_port
        if not _is_known(state.get("proxyprotocol")):
            state["proxyprotocol"] = False
        state["id"] = f"{state['load_balancer_id']}__{state['listen_port']}"
        return state


RESOURCES: list[type[_FakeResource]] = [
    NetworkResource,
    NetworkSubnetResource,
    FirewallResource,
    SshKeyResource,
    ServerResource,
    ServerNetworkResource,
    LoadBalancerResource,
    LoadBalancerNetworkResource,
    LoadBalancerTargetResource,
    LoadBalancerServiceResource,
]


class HcloudProvider(tf_provider.Provider):  # type: ignore[misc]
    def get_model_prefix(self) -> str:
        return "hcloud_"

    def full_name(self) -> str:
        return FULL_NAME

    def get_provider_schema(self, diags: Diagnostics) -> Schema:
        return Schema(
            attributes=[
                Attribute("token", String(), optional=True, sensitive=True),
                Attribute("endpoint", String(), optional=True),
                Attribute("poll_interval", String(), optional=True),
                Attribute("poll_function", String(), optional=True),
            ]
        )

    def validate_config(self, diags: Diagnostics, config: Config) -> None:
        return None

    def configure_provider(self, diags: Diagnostics, config: Config) -> None:
        token = config.get("token")
        if isinstance(token, str) and token.startswith("invalid"):
            diags.add_error(
                "unable to authenticate your access token (unauthorized)",
                "The Hetzner Cloud API rejected the token.",
            )

    def get_data_sources(self) -> list[type[DataSource]]:
        return []

    def get_resources(self) -> list[type[Resource]]:
        return list(RESOURCES)


_HASHED_USER_DATA = {"hcloud_server"}


class _Servicer(tf_provider.ProviderServicer):  # type: ignore[misc]
    """Adds the real provider's `user_data` StateFunc (legacy SDK type system) to `tf`'s."""

    def PlanResourceChange(self, request: Any, context: Any) -> Any:
        if request.type_name not in _HASHED_USER_DATA:
            return super().PlanResourceChange(request, context)
        proposed = read_dynamic_value(request.proposed_new_state)
        prior = read_dynamic_value(request.prior_state)
        raw = proposed.get("user_data") if isinstance(proposed, dict) else None
        already = isinstance(prior, dict) and prior.get("user_data") == raw
        if isinstance(raw, ExtType) or (isinstance(raw, str) and not already):
            # A refined unknown (e.g. "starts with #cloud-config") would not match the hash
            # once known: the real SDK drops refinements, so plan a plain unknown instead.
            proposed["user_data"] = Unknown if isinstance(raw, ExtType) else user_data_hash(raw)
            changed = pb.PlanResourceChange.Request()
            changed.CopyFrom(request)
            changed.proposed_new_state.CopyFrom(to_dynamic_value(proposed))
            request = changed
        response = super().PlanResourceChange(request, context)
        response.legacy_type_system = True
        return response

    def ApplyResourceChange(self, request: Any, context: Any) -> Any:
        response = super().ApplyResourceChange(request, context)
        if request.type_name in _HASHED_USER_DATA:
            response.legacy_type_system = True
        return response


def main() -> None:
    tf_provider.ProviderServicer = _Servicer  # picked up by run_provider
    runner.run_provider(HcloudProvider(), sys.argv)


if __name__ == "__main__":
    main()
