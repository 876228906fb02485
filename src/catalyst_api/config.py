"""Every setting catalyst-api reads, in one typed object.

The names and defaults are the original service's environment variables (spec §2, the seed
Deployment and platform §5/§6.2) plus the ones our contract adds. `Settings.from_env(mapping)`
is the only place the environment is read: `cli.py` calls it once with `os.environ` and hands the
object down. An empty value counts as unset. A value that cannot be parsed stops startup with a
`ConfigError` that names the variable.

`docs/configuration.md` lists every field; `tests/test_configuration.py` keeps the two in step.
"""

from __future__ import annotations

import ipaddress
import re
import shutil
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import (
    BeforeValidator,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

__all__ = [
    "ConfigError",
    "Settings",
    "format_go_duration",
    "parse_go_duration",
]


class ConfigError(ValueError):
    """A setting could not be parsed; the message names the variable."""


_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_UNIT_SECONDS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}


def parse_go_duration(text: str) -> timedelta:
    """Parse Go `time.ParseDuration` syntax (`90m`, `1h30m`, `500ms`, `-2s`, `0`)."""
    raw = text.strip()
    if not raw:
        raise ValueError("empty duration")
    sign = 1.0
    body = raw
    if body[0] in "+-":
        sign = -1.0 if body[0] == "-" else 1.0
        body = body[1:]
    if body == "0":
        return timedelta(0)
    pos = 0
    total = 0.0
    while pos < len(body):
        match = _DURATION_PART.match(body, pos)
        if match is None:
            raise ValueError(f"invalid duration {raw!r} (use Go syntax such as 30s, 15m, 1h30m)")
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        pos = match.end()
    if pos == 0:
        raise ValueError(f"invalid duration {raw!r}")
    return timedelta(seconds=sign * total)


def format_go_duration(value: timedelta) -> str:
    """Format like Go's `Duration.String()`: `15m0s`, `1h0m0s`, `30s`, `200ms`, `0s`."""
    total_ns = round(value.total_seconds() * 1e9)
    if total_ns == 0:
        return "0s"
    sign = "-" if total_ns < 0 else ""
    ns = abs(total_ns)
    if ns < 1_000_000_000:
        for unit, size in (("ms", 1_000_000), ("µs", 1_000), ("ns", 1)):
            if ns >= size:
                return sign + _trim_fraction(ns / size) + unit
    hours, rest = divmod(ns, 3_600_000_000_000)
    minutes, rest = divmod(rest, 60_000_000_000)
    seconds = _trim_fraction(rest / 1e9)
    if hours:
        return f"{sign}{hours}h{minutes}m{seconds}s"
    if minutes:
        return f"{sign}{minutes}m{seconds}s"
    return f"{sign}{seconds}s"


def _trim_fraction(number: float) -> str:
    text = f"{number:.9f}".rstrip("0").rstrip(".")
    return text or "0"


def _positive_duration(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        parsed = value
    elif isinstance(value, int | float):
        parsed = timedelta(seconds=value)
    else:
        parsed = parse_go_duration(str(value))
    if parsed <= timedelta(0):
        raise ValueError(f"duration must be positive, got {value!r}")
    return parsed


Duration = Annotated[timedelta, BeforeValidator(_positive_duration)]


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _default_tofu_binary() -> str:
    return "tofu" if shutil.which("tofu") else "terraform"


class Settings(BaseSettings):
    """catalyst-api configuration; field aliases are the environment variable names."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    # --- HTTP ----------------------------------------------------------------------------------
    port: int = Field(8080, validation_alias="PORT", description="TCP port the API listens on.")
    cors_origin: str = Field(
        "*",
        validation_alias="CORS_ORIGIN",
        description="The single allowed CORS origin (`*` allows any).",
    )
    log_level: str = Field(
        "info",
        validation_alias="CATALYST_LOG_LEVEL",
        description="Log level for the JSON logs: debug, info, warning, error.",
    )
    max_connections: int = Field(
        4000,
        validation_alias="CATALYST_MAX_CONNECTIONS",
        description="Open client connections served at once (SSE streams included); past it "
        "a request gets 503. Each costs a file descriptor and some memory.",
    )
    sse_max_streams: int = Field(
        2000,
        validation_alias="CATALYST_SSE_MAX_STREAMS",
        description="Live SSE streams open at once, deployment log streams and k8scache "
        "streams together; past it `GET .../logs` and `GET .../k8s/stream` answer 503 "
        "`too-many-streams` with `Retry-After`. Measured cost: a few KiB per caught-up "
        "stream, at most ~100 KiB for a client that stops reading (until the write timeout).",
    )
    request_header_timeout: Duration = Field(
        timedelta(seconds=10),
        validation_alias="CATALYST_REQUEST_HEADER_TIMEOUT",
        description="A request's line and headers must arrive within this long of the "
        "connection (or of its first byte on a kept-alive one); otherwise 408 and close "
        "(Go duration).",
    )
    request_body_timeout: Duration = Field(
        timedelta(seconds=30),
        validation_alias="CATALYST_REQUEST_BODY_TIMEOUT",
        description="A request body must be complete this long after its headers; otherwise "
        "408 `request-timeout` and close (Go duration).",
    )
    write_timeout: Duration = Field(
        timedelta(seconds=30),
        validation_alias="CATALYST_WRITE_TIMEOUT",
        description="A client that reads nothing for this long while a response waits to be "
        "sent is disconnected, freeing what was queued for it; SSE clients resume with "
        "`Last-Event-ID` (Go duration).",
    )

    # --- Shutdown (staged; docs/RUNBOOK.md §Shutdown) ------------------------------------------
    tofu_interrupt_grace: Duration = Field(
        timedelta(seconds=20),
        validation_alias="CATALYST_TOFU_INTERRUPT_GRACE",
        description="A cancelled or timed-out OpenTofu run gets SIGINT (it stops and writes its "
        "state), SIGTERM this long later, SIGKILL as long again after that (Go duration).",
    )
    shutdown_runs_grace: Duration = Field(
        timedelta(seconds=45),
        validation_alias="CATALYST_SHUTDOWN_RUNS_GRACE",
        description="On shutdown, how long the running deployment runs get to stop OpenTofu and "
        "record their state; more than twice `CATALYST_TOFU_INTERRUPT_GRACE` (Go duration).",
    )
    shutdown_grace: Duration = Field(
        timedelta(seconds=50),
        validation_alias="CATALYST_SHUTDOWN_GRACE",
        description="From SIGTERM until the last connection is closed: runs stop first, then "
        "connections drain. More than `CATALYST_SHUTDOWN_RUNS_GRACE`, less than the pod's "
        "`terminationGracePeriodSeconds` (Go duration).",
    )

    # --- Data directories ----------------------------------------------------------------------
    deployments_dir: Path = Field(
        Path("/var/lib/catalyst/deployments"),
        validation_alias="CATALYST_DEPLOYMENTS_DIR",
        description="Deployment records (`<id>.json`) and event logs (`<id>.events.jsonl`). "
        "Unwritable: the service runs in memory and `/readyz` answers 503.",
    )
    kubeconfigs_dir: Path = Field(
        Path("/var/lib/catalyst/kubeconfigs"),
        validation_alias="CATALYST_KUBECONFIGS_DIR",
        description="Kubeconfigs PUT back by cloud-init (`<id>.yaml`, 0600).",
    )
    executions_dir: Path = Field(
        Path("/var/lib/catalyst/executions"),
        validation_alias="CATALYST_EXECUTIONS_DIR",
        description="Jobs / executions / log lines store; unusable means the jobs endpoints "
        "answer 503.",
    )

    database_url: SecretStr = Field(
        SecretStr(""),
        validation_alias="CATALYST_DATABASE_URL",
        description="PostgreSQL URL (`postgresql://user:pass@host:5432/db`). Set: records and "
        "events live in that database (migrated at start) and several replicas can share it. "
        "Unset: the flat files above (the embedded default).",
    )
    lease_ttl: Duration = Field(
        timedelta(seconds=6),
        validation_alias="CATALYST_LEASE_TTL",
        description="With a database: how long a replica's lease on a deployment's run lasts "
        "without renewal (renewed every third of it); when a replica dies, another takes its "
        "runs over within about this (Go duration).",
    )
    replica_name: str = Field(
        "",
        validation_alias="CATALYST_REPLICA_NAME",
        description="With a database: this replica's name in the leases table. Default: the "
        "host name and a random suffix (the pod name in the chart).",
    )
    encryption_key: SecretStr = Field(
        SecretStr(""),
        validation_alias="CATALYST_ENCRYPTION_KEY",
        description="With a database: AES-256 keys for the kubeconfigs stored there, "
        "`<id>:<base64 32 bytes>`, comma separated, newest first (it encrypts; the others stay "
        "readable: docs/HA.md §Key rotation). Unset: kubeconfigs stay local files only, so "
        "another replica cannot resume a Phase 1 watch.",
    )

    # --- Pool domains and DNS ------------------------------------------------------------------
    pool_domain_manager_url: str = Field(
        "",
        validation_alias="POOL_DOMAIN_MANAGER_URL",
        description="pool-domain-manager base URL. Unset or empty: embedded mode (catalyst-api "
        "reserves pool subdomains itself and writes the A records through Dynadot).",
    )
    dynadot_api_key: SecretStr = Field(
        SecretStr(""),
        validation_alias="DYNADOT_API_KEY",
        description="Dynadot API key (secret `dynadot-api-credentials`, key `api-key`).",
    )
    dynadot_api_secret: SecretStr = Field(
        SecretStr(""),
        validation_alias="DYNADOT_API_SECRET",
        description="Dynadot API secret (secret `dynadot-api-credentials`, key `api-secret`).",
    )
    dynadot_managed_domains: str = Field(
        "",
        validation_alias="DYNADOT_MANAGED_DOMAINS",
        description="Managed pool-domain allowlist, comma or space separated; wins over "
        "`DYNADOT_DOMAIN` and the built-in `openova.io`, `omani.works`.",
    )
    dynadot_domain: str = Field(
        "",
        validation_alias="DYNADOT_DOMAIN",
        description="Legacy single managed pool domain, used when `DYNADOT_MANAGED_DOMAINS` "
        "is empty.",
    )
    dynadot_api_url: str = Field(
        "https://api.dynadot.com/api3.json",
        validation_alias="DYNADOT_API_URL",
        description="Full Dynadot API endpoint used for `set_dns2` record writes.",
    )
    hetzner_api_url: str = Field(
        "https://api.hetzner.cloud/v1",
        validation_alias="CATALYST_HETZNER_API_URL",
        description="Hetzner Cloud API base URL for the read-only token check.",
    )

    # --- Phase 0 (OpenTofu) --------------------------------------------------------------------
    ghcr_pull_token: SecretStr = Field(
        SecretStr(""),
        validation_alias="CATALYST_GHCR_PULL_TOKEN",
        description="GHCR pull token written into the Sovereign's `flux-system/ghcr-pull` "
        "Secret; required for pool-mode deployments (see docs/SECRET-ROTATION.md).",
    )
    tofu_binary: str = Field(
        default_factory=_default_tofu_binary,
        validation_alias="CATALYST_TOFU_BINARY",
        description="OpenTofu/Terraform executable. Default: `tofu` if on PATH, else `terraform`.",
    )
    tofu_module_path: Path = Field(
        Path("/infra/hetzner"),
        validation_alias="CATALYST_TOFU_MODULE_PATH",
        description="Source OpenTofu module staged into each workdir.",
    )
    tofu_workdir: Path = Field(
        Path("/var/lib/catalyst/tofu"),
        validation_alias="CATALYST_TOFU_WORKDIR",
        description="Parent of the per-Sovereign workdirs (`<fqdn-with-dashes>/`); keep it on "
        "the PVC so a retry after a restart finds the state.",
    )
    tofu_timeout: Duration = Field(
        timedelta(minutes=30),
        validation_alias="CATALYST_TOFU_TIMEOUT",
        description="Budget for one Phase 0 run (Go duration).",
    )
    plan_timeout: Duration = Field(
        timedelta(minutes=2),
        validation_alias="CATALYST_PLAN_TIMEOUT",
        description="Budget for one plan preview (`POST /api/v1/deployments/plan`: init, plan "
        "and show together); past it the plan is stopped and the answer is 504 `plan-timeout` "
        "(Go duration).",
    )
    plan_concurrency: int = Field(
        2,
        validation_alias="CATALYST_PLAN_CONCURRENCY",
        description="Plan previews running at once; past it `POST /api/v1/deployments/plan` "
        "answers 429 `too-many-plans` with `Retry-After` at once. Each runs OpenTofu (and its "
        "providers) in a throwaway workdir.",
    )
    prices_file: Path | None = Field(
        None,
        validation_alias="CATALYST_PRICES_FILE",
        description="Price table of the plan preview's cost estimate (JSON, format in "
        "docs/configuration.md §Price table). Default: the Hetzner table shipped in the "
        "package (`catalyst_api/provisioner/prices/hetzner.json`).",
    )
    gitops_repo_url: str = Field(
        "https://github.com/openova-io/openova",
        validation_alias="CATALYST_GITOPS_REPO_URL",
        description="tfvars `gitops_repo_url`: the repository Flux reconciles.",
    )
    gitops_branch: str = Field(
        "main",
        validation_alias="CATALYST_GITOPS_BRANCH",
        description="tfvars `gitops_branch`.",
    )
    api_public_url: str = Field(
        "https://console.openova.io/sovereign",
        validation_alias="CATALYST_API_PUBLIC_URL",
        description="Public origin the Sovereign's cloud-init PUTs its kubeconfig back to.",
    )

    # --- Phase 1 -------------------------------------------------------------------------------
    kubeconfig_wait_timeout: Duration = Field(
        timedelta(minutes=20),
        validation_alias="CATALYST_KUBECONFIG_WAIT_TIMEOUT",
        description="How long after Phase 0 the deployment waits for the kubeconfig postback "
        "before failing (Go duration).",
    )
    phase1_watch_timeout: Duration = Field(
        timedelta(minutes=60),
        validation_alias="CATALYST_PHASE1_WATCH_TIMEOUT",
        description="Overall Phase 1 HelmRelease watch budget (Go duration).",
    )
    phase1_min_bootstrap_kit_hrs: int = Field(
        11,
        validation_alias="CATALYST_PHASE1_MIN_BOOTSTRAP_KIT_HRS",
        description="Minimum observed `bp-*` HelmReleases before all-terminal ends Phase 1.",
    )
    phase1_first_seen_timeout: Duration = Field(
        timedelta(minutes=15),
        validation_alias="CATALYST_PHASE1_FIRST_SEEN_TIMEOUT",
        description="After this long with zero HelmReleases seen, warn once (Go duration).",
    )

    # --- k8scache ------------------------------------------------------------------------------
    k8scache_kubeconfigs_dir: Path = Field(
        Path("/var/lib/catalyst/kubeconfigs"),
        validation_alias="CATALYST_K8SCACHE_KUBECONFIGS_DIR",
        description="Kubeconfigs the k8scache watches (same directory as the postback).",
    )
    k8scache_snapshot_dir: Path = Field(
        Path("/var/cache/sov-cache"),
        validation_alias="CATALYST_K8SCACHE_SNAPSHOT_DIR",
        description="k8scache disk snapshots for fast cold starts.",
    )
    k8scache_kinds_configmap: str = Field(
        "",
        validation_alias="CATALYST_K8SCACHE_KINDS_CONFIGMAP",
        description="ConfigMap extending the k8scache kinds registry; empty disables it.",
    )
    k8scache_kinds_configmap_namespace: str = Field(
        "catalyst",
        validation_alias="CATALYST_K8SCACHE_KINDS_CONFIGMAP_NAMESPACE",
        description="Namespace of the kinds ConfigMap.",
    )
    k8scache_kinds_file: Path | None = Field(
        None,
        validation_alias="CATALYST_K8SCACHE_KINDS_FILE",
        description="File extending the k8scache kinds registry (the ConfigMap's CSV format: "
        "`name,group,version,resource,namespaced[,sensitive]` per line), for running outside "
        "a cluster; when set, the ConfigMap is not read.",
    )
    k8scache_user_header: str = Field(
        "X-Forwarded-User",
        validation_alias="CATALYST_K8SCACHE_USER_HEADER",
        description="Request header carrying the user for k8scache SubjectAccessReview checks.",
    )

    # --- Infrastructure page (Day-2 claims) ---------------------------------------------------
    day2_claim_poll_interval: Duration = Field(
        timedelta(seconds=2),
        validation_alias="CATALYST_DAY2_CLAIM_POLL_INTERVAL",
        description="How often a submitted Day-2 claim's Synced/Ready conditions are read "
        "(from the k8scache when it holds the Sovereign) to update its job (Go duration).",
    )
    day2_claim_timeout: Duration = Field(
        timedelta(minutes=30),
        validation_alias="CATALYST_DAY2_CLAIM_TIMEOUT",
        description="How long a Day-2 claim is followed; one not Ready by then stays reported "
        "`pending` (its job too) and is no longer followed (Go duration).",
    )
    infra_live_read_timeout: Duration = Field(
        timedelta(seconds=5),
        validation_alias="CATALYST_INFRA_LIVE_READ_TIMEOUT",
        description="Budget of each direct apiserver read of the infrastructure page and of "
        "each claim write, when the k8scache cannot answer (Go duration).",
    )
    # --- Authentication and authorization (docs/SECURITY.md) -----------------------------------
    auth_mode: str = Field(
        "open",
        validation_alias="CATALYST_AUTH_MODE",
        description="`open` (the original's behaviour: no authentication, any caller can read "
        "kubeconfigs) or `required` (every `/api/...` route but the kubeconfig PUT needs a "
        "principal with the route's role: viewer, operator or admin).",
    )
    auth_tokens_file: Path | None = Field(
        None,
        validation_alias="CATALYST_AUTH_TOKENS_FILE",
        description="API tokens: `sha256-hex name role` lines (mount it from a Secret; "
        "`catalyst-api tokens create NAME --role R` prints one); re-read when it changes.",
    )
    auth_oidc_issuer: str = Field(
        "",
        validation_alias="CATALYST_AUTH_OIDC_ISSUER",
        description="OIDC issuer URL (e.g. a Keycloak realm): JWT bearers it signs are "
        "accepted. `https://` only (`http://` on a loopback address, for local testing).",
    )
    auth_oidc_audience: str = Field(
        "",
        validation_alias="CATALYST_AUTH_OIDC_AUDIENCE",
        description="The `aud` every OIDC token must carry; required with the issuer.",
    )
    auth_oidc_roles_claim: str = Field(
        "groups",
        validation_alias="CATALYST_AUTH_OIDC_ROLES_CLAIM",
        description="Claim holding the roles (`catalyst-viewer`, `catalyst-operator`, "
        "`catalyst-admin`); a dotted path reaches nested claims (`realm_access.roles`).",
    )
    auth_trusted_proxies: str = Field(
        "",
        validation_alias="CATALYST_AUTH_TRUSTED_PROXIES",
        description="Comma-separated CIDRs of the proxies whose user and groups headers are "
        "believed; empty: the headers are never trusted.",
    )
    auth_proxy_user_header: str = Field(
        "",
        validation_alias="CATALYST_AUTH_PROXY_USER_HEADER",
        description="Header carrying the proxy-authenticated user. Default: the k8scache "
        "user header (`CATALYST_K8SCACHE_USER_HEADER`, `X-Forwarded-User`).",
    )
    auth_proxy_groups_header: str = Field(
        "X-Forwarded-Groups",
        validation_alias="CATALYST_AUTH_PROXY_GROUPS_HEADER",
        description="Header carrying the proxy user's groups, comma-separated (the same role "
        "names as the OIDC claim).",
    )
    console_oidc_client_id: str = Field(
        "",
        validation_alias="CATALYST_CONSOLE_OIDC_CLIENT_ID",
        description="The web console's OIDC client (a public client: authorization code + "
        "PKCE, redirect URI `<console origin>/console/oidc-callback`); with "
        "`CATALYST_AUTH_OIDC_ISSUER` set, the console offers an OIDC sign-in. Empty: API "
        "tokens only.",
    )

    # --- Sandbox -------------------------------------------------------------------------------
    sandbox: bool = Field(
        False,
        validation_alias="CATALYST_SANDBOX",
        description="Run with the simulated cloud and Sovereigns (`serve --sandbox`); needs the "
        "catalyst-api-sandbox distribution (`make install`), which the image does not ship: "
        "without it `serve` exits with an error.",
    )
    sandbox_speed: float = Field(
        1.0,
        validation_alias="CATALYST_SANDBOX_SPEED",
        description="Sandbox time factor: 10 runs the simulated timings ten times faster.",
    )
    sandbox_fail_components: str = Field(
        "",
        validation_alias="CATALYST_SANDBOX_FAIL_COMPONENTS",
        description="Comma-separated bootstrap-kit components the sandbox makes fail for good "
        "(`InstallFailed` on every attempt until Helm's 3 retries run out, then `Stalled`).",
    )

    @field_validator(
        "phase1_min_bootstrap_kit_hrs", "max_connections", "sse_max_streams", "plan_concurrency"
    )
    @classmethod
    def _positive_count(cls, value: int) -> int:
        if value <= 0:
            raise ValueError("must be a positive integer")
        return value

    @field_validator("sandbox_speed")
    @classmethod
    def _positive_speed(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("must be positive")
        return value

    @model_validator(mode="after")
    def _shutdown_stages_nest(self) -> Settings:
        tofu = self.tofu_interrupt_grace
        runs = self.shutdown_runs_grace
        if runs <= 2 * tofu:
            raise ValueError(
                "CATALYST_SHUTDOWN_RUNS_GRACE must exceed twice CATALYST_TOFU_INTERRUPT_GRACE "
                f"(SIGINT, SIGTERM, SIGKILL): {format_go_duration(runs)} <= "
                f"2 x {format_go_duration(tofu)}"
            )
        if self.shutdown_grace <= runs:
            raise ValueError(
                "CATALYST_SHUTDOWN_GRACE must exceed CATALYST_SHUTDOWN_RUNS_GRACE: "
                f"{format_go_duration(self.shutdown_grace)} <= {format_go_duration(runs)}"
            )
        return self

    @field_validator("auth_mode")
    @classmethod
    def _auth_mode(cls, value: str) -> str:
        mode = value.strip().lower()
        if mode not in ("open", "required"):
            raise ValueError("must be `open` or `required`")
        return mode

    @field_validator("auth_trusted_proxies")
    @classmethod
    def _cidrs(cls, value: str) -> str:
        for part in (p.strip() for p in value.split(",")):
            if part:
                try:
                    ipaddress.ip_network(part, strict=False)
                except ValueError:
                    raise ValueError(f"not a CIDR: {part!r}") from None
        return value

    @field_validator("auth_oidc_issuer")
    @classmethod
    def _issuer(cls, value: str) -> str:
        issuer = value.strip().rstrip("/")
        if not issuer:
            return ""
        url = urlsplit(issuer)
        if url.scheme == "https" and url.hostname:
            return issuer
        if url.scheme == "http" and url.hostname and _is_loopback(url.hostname):
            return issuer
        raise ValueError("must be an https:// URL (http:// only on a loopback address)")

    @model_validator(mode="after")
    def _auth_sources(self) -> Settings:
        if self.auth_oidc_issuer and not self.auth_oidc_audience.strip():
            raise ValueError(
                "CATALYST_AUTH_OIDC_AUDIENCE must be set with CATALYST_AUTH_OIDC_ISSUER"
            )
        if self.auth_mode == "required" and not (
            self.auth_tokens_file is not None
            or self.auth_oidc_issuer
            or self.auth_trusted_proxies.strip()
        ):
            raise ValueError(
                "CATALYST_AUTH_MODE=required needs a source of principals: "
                "CATALYST_AUTH_TOKENS_FILE, CATALYST_AUTH_OIDC_ISSUER or "
                "CATALYST_AUTH_TRUSTED_PROXIES"
            )
        return self

    @field_validator("pool_domain_manager_url", "hetzner_api_url", "api_public_url")
    @classmethod
    def _trim_trailing_slash(cls, value: str) -> str:
        return value.strip().rstrip("/")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Only what from_env() passes in: no module reads os.environ behind our back.
        return (init_settings,)

    @classmethod
    def env_names(cls) -> dict[str, str]:
        """Map of environment variable name → field name."""
        return {str(field.validation_alias): name for name, field in cls.model_fields.items()}

    @classmethod
    def from_env(cls, environ: Mapping[str, str], **overrides: Any) -> Settings:
        """Build settings from an environment mapping; empty values count as unset.

        `overrides` are field names (not env names) that win over the mapping (CLI flags).
        """
        known = cls.env_names()
        values: dict[str, Any] = {
            known[key]: value
            for key, value in environ.items()
            if key in known and value is not None and value.strip() != ""
        }
        values.update(overrides)
        try:
            return cls(**values)
        except ValidationError as exc:
            field_to_env = {field: env for env, field in known.items()}
            problems = []
            for error in exc.errors():
                loc = str(error["loc"][0]) if error["loc"] else "?"
                env = field_to_env.get(loc, loc)
                problems.append(f"{env}: {error['msg']} (got {error.get('input')!r})")
            raise ConfigError("invalid configuration: " + "; ".join(problems)) from None

    def secret_values(self) -> list[str]:
        """Every non-empty secret value, for the log scrubber."""
        secrets = (
            self.dynadot_api_key,
            self.dynadot_api_secret,
            self.ghcr_pull_token,
            self.database_url,
            self.encryption_key,
        )
        return [value for s in secrets if (value := s.get_secret_value())]
