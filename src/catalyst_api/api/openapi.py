"""The OpenAPI document, told truthfully.

Routes read their bodies themselves (Go-style decoding, verbatim error texts), so FastAPI cannot
infer them: it would declare no request body and a 422 no route ever answers. `OPERATIONS` is
the declarative table of what each operation takes and answers (statuses, media types, bodies);
`install_openapi` applies it when the document is generated, replacing FastAPI's responses.
`tests/api/test_openapi_conformance.py` keeps the table honest with schemathesis.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from ..auth import Role
from .access import ROUTE_ACCESS

__all__ = ["OPERATIONS", "Operation", "install_openapi"]

Schema = dict[str, Any]

# --- bodies --------------------------------------------------------------------------------------

TEXT = "text/plain"
JSON = "application/json"


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(required: tuple[str, ...] = (), **properties: Schema) -> Schema:
    """An object with these properties; extra properties allowed (unknown fields ignored)."""
    out: Schema = {"type": "object", "properties": properties}
    if required:
        out["required"] = list(required)
    return out


STRING: Schema = {"type": "string"}
# Go decoding: `null` leaves a field empty, so an optional string may be null.
OPT_STRING: Schema = {"type": ["string", "null"]}
# Required values are checked after trimming: at least one non-blank character.
NON_BLANK: Schema = {"type": "string", "pattern": "\\S"}
ARRAY_OF_OBJECTS: Schema = {"type": "array", "items": {"type": "object"}}

SCHEMAS: dict[str, Schema] = {
    "Error": {
        **_obj(("error",), error=STRING, detail=STRING),
        "description": '`{"error": "<code>", "detail": "<sentence>"}`; `detail` may be absent, '
        "a few errors carry extra keys (e.g. `watching`).",
    },
    "InternalError": {
        **_obj(("error", "detail", "requestId"), error=STRING, detail=STRING, requestId=STRING),
        "description": "An unexpected error: the request id is also in `X-Request-Id` and in "
        "the server's log line (with the traceback, never sent to the client).",
    },
    "RegionSpec": {
        **_obj(
            ("provider", "cloudRegion", "controlPlaneSize"),
            provider=NON_BLANK,
            cloudRegion=NON_BLANK,
            controlPlaneSize=NON_BLANK,
            workerSize=OPT_STRING,
            workerCount={"type": "integer", "minimum": 0, "maximum": 2**63 - 1},
        ),
        "description": "`workerSize` is required when `workerCount` > 0.",
    },
    "CreateDeployment": {
        **_obj(
            (
                "orgName",
                "orgEmail",
                "sovereignFQDN",
                "hetznerToken",
                "hetznerProjectID",
                "sshPublicKey",
            ),
            orgName=NON_BLANK,
            orgEmail={**NON_BLANK, "format": "email"},
            sovereignFQDN={**NON_BLANK, "format": "hostname"},
            sovereignDomainMode={"enum": ["pool", "byo", "byo-manual", "byo-api", None]},
            sovereignPoolDomain=OPT_STRING,
            sovereignSubdomain=OPT_STRING,
            hetznerToken={**NON_BLANK, "writeOnly": True},
            hetznerProjectID=NON_BLANK,
            region=OPT_STRING,
            controlPlaneSize=OPT_STRING,
            workerSize=OPT_STRING,
            workerCount={"type": ["integer", "null"], "minimum": -(2**63), "maximum": 2**63 - 1},
            haEnabled={"type": ["boolean", "null"]},
            regions={"type": ["array", "null"], "items": _ref("RegionSpec")},
            sshPublicKey={
                **NON_BLANK,
                "description": "OpenSSH public key: ed25519, RSA >= 2048 bits or ECDSA.",
            },
        ),
        "description": "Decoded like Go `encoding/json`: keys match case-insensitively, unknown "
        "fields are ignored, `null` leaves a field empty, a wrongly typed value is a 400 "
        "text/plain `invalid request body: …`. Requiredness and formats (RFC 1123 FQDN, "
        "e-mail, OpenSSH public key, `region` unless `regions` is non-empty) are checked after "
        'decoding: 400 `{"error": "<message>"}`.',
    },
    "TokenBody": {
        **_obj(hetznerToken={**OPT_STRING, "writeOnly": True}),
        "description": "Optional: the Hetzner token, needed after a restart (it is never "
        "persisted); without it the answer is 409 `credentials-required`.",
    },
    "Created": _obj(("id", "status", "streamURL"), id=STRING, status=STRING, streamURL=STRING),
    "Plan": _obj(
        ("resources", "counts", "estimate", "warnings"),
        resources={
            "type": "array",
            "items": _obj(
                ("address", "type", "action"), address=STRING, type=STRING, action=STRING
            ),
        },
        counts=_obj(
            ("add", "change", "destroy"),
            add={"type": "integer"},
            change={"type": "integer"},
            destroy={"type": "integer"},
        ),
        estimate=_obj(
            ("currency", "monthly", "hourly", "lines"),
            currency=STRING,
            monthly={"type": "number"},
            hourly={"type": "number"},
            lines={
                "type": "array",
                "items": _obj(
                    ("item", "sku", "count", "unitMonthly"),
                    item=STRING,
                    sku=STRING,
                    count={"type": "integer"},
                    unitMonthly={"type": "number"},
                ),
            },
        ),
        warnings={"type": "array", "items": STRING},
    ),
    "Status": {
        "type": "string",
        "enum": [
            "pending",
            "provisioning",
            "tofu-applying",
            "flux-bootstrapping",
            "phase1-watching",
            "ready",
            "failed",
            "destroying",
            "destroyed",
        ],
    },
    "State": _obj(
        ("id", "status", "startedAt", "finishedAt", "sovereignFQDN", "region", "numEvents"),
        id=STRING,
        status=_ref("Status"),
        startedAt=STRING,
        finishedAt={"type": ["string", "null"]},
        sovereignFQDN=STRING,
        region=STRING,
        numEvents={"type": "integer"},
        error=STRING,
        owner={
            "type": "string",
            "description": "The principal that created it (CATALYST_AUTH_MODE=required only).",
        },
        result={"type": "object"},
        componentStates={"type": "object", "additionalProperties": STRING},
        phase1FinishedAt=STRING,
    ),
    "Event": _obj(
        ("time", "phase", "level", "message"),
        time=STRING,
        phase=STRING,
        level=STRING,
        message=STRING,
        component=STRING,
        state=STRING,
        progress=_obj(("done", "total"), done={"type": "integer"}, total={"type": "integer"}),
        seq={"type": "integer"},
    ),
    "DeploymentList": _obj(
        ("deployments",),
        deployments={"type": "array", "items": _ref("State")},
        nextCursor=STRING,
    ),
    "Events": _obj(
        ("state", "events", "done"),
        state=_ref("State"),
        events={"type": "array", "items": _ref("Event")},
        done={"type": "boolean"},
    ),
    "RetryAccepted": _obj(
        ("id", "status", "phase", "streamURL", "message"),
        id=STRING,
        status=STRING,
        phase=STRING,
        streamURL=STRING,
        message=STRING,
        runbook=STRING,
    ),
    "CredentialsRequest": _obj(
        ("token",),
        token={
            "type": "string",
            # At least 64 characters once surrounding whitespace is trimmed.
            "pattern": "^\\s*\\S[\\s\\S]{62,}\\S\\s*$",
            "writeOnly": True,
            "description": "Hetzner API token; under 64 characters (trimmed) is a 400.",
        },
        provider={**OPT_STRING, "description": "Ignored."},
    ),
    "CredentialsAnswer": _obj(("valid", "message"), valid={"type": "boolean"}, message=STRING),
    "SubdomainRequest": _obj(subdomain=OPT_STRING, poolDomain=OPT_STRING),
    "SubdomainAnswer": _obj(
        ("available",), available={"type": "boolean"}, reason=STRING, detail=STRING, fqdn=STRING
    ),
    "SshKeyRequest": {
        "properties": {"fqdn": OPT_STRING},
        "description": "Optional. Only a JSON object is read (its `fqdn` sets the key comment); "
        "any other body, even one that is not JSON, counts as no body (the original's rule).",
    },
    "SshKeyPair": _obj(
        ("publicKey", "privateKey", "fingerprint"),
        publicKey=STRING,
        privateKey=STRING,
        fingerprint=STRING,
    ),
    "RegistrarValidateRequest": _obj(
        ("domain", "token"),
        domain=NON_BLANK,
        token={"type": "string", "minLength": 1, "writeOnly": True},
    ),
    "Components": _obj(
        ("watching", "components"), watching={"type": "boolean"}, components=ARRAY_OF_OBJECTS
    ),
}

# --- responses -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """One documented status: description and body per media type (None = no body)."""

    description: str
    content: dict[str, Schema] | None = None
    headers: dict[str, Schema] = field(default_factory=dict)

    def to_openapi(self) -> Schema:
        out: Schema = {"description": self.description}
        if self.content is not None:
            out["content"] = {media: {"schema": schema} for media, schema in self.content.items()}
        if self.headers:
            out["headers"] = {name: {"schema": s} for name, s in self.headers.items()}
        return out


def _json(description: str, schema: str | Schema = "Error") -> Answer:
    return Answer(description, {JSON: _ref(schema) if isinstance(schema, str) else schema})


def _text(description: str, example: str) -> Answer:
    return Answer(description, {TEXT: {"type": "string", "example": example}})


def _text_or_json(description: str, example: str) -> Answer:
    return Answer(description, {TEXT: {"type": "string", "example": example}, JSON: _ref("Error")})


NOT_FOUND_TEXT = _text(
    "Unknown deployment id: the original's text body `deployment not found\\n` "
    "(`404 page not found\\n` when a path segment does not match any route).",
    "deployment not found\n",
)
NOT_FOUND_JSON = _text_or_json(
    'Unknown id: JSON `{"error": "deployment-not-found" | "job-not-found" | '
    '"execution-not-found"}` (text `404 page not found\\n` when a path segment does not match '
    "any route).",
    "404 page not found\n",
)
INVALID_BODY_TEXT = "invalid request body: json: cannot unmarshal number into Go struct field"
INTERNAL = _json(
    "Unexpected error; the body and `X-Request-Id` carry the request id.", "InternalError"
)
JOBS_UNAVAILABLE = _json("`jobs-store-unavailable`: persistence is disabled.")
TOO_LARGE = _json("`payload-too-large`: the body exceeds the route's cap.")
REQUEST_TIMEOUT = _json(
    "`request-timeout`: the body did not arrive within CATALYST_REQUEST_BODY_TIMEOUT."
)


@dataclass(frozen=True)
class RequestBody:
    content: dict[str, Schema]
    required: bool
    description: str = ""

    def to_openapi(self) -> Schema:
        out: Schema = {
            "required": self.required,
            "content": {media: {"schema": schema} for media, schema in self.content.items()},
        }
        if self.description:
            out["description"] = self.description
        return out


@dataclass(frozen=True)
class Operation:
    """What one (method, path) takes and answers."""

    responses: dict[int | str, Answer]
    body: RequestBody | None = None
    parameters: list[Schema] = field(default_factory=list)
    security: list[dict[str, list[str]]] | None = None


def _json_body(name: str, *, required: bool, description: str = "") -> RequestBody:
    return RequestBody({JSON: _ref(name)}, required, description)


def _query(name: str, description: str, schema: Schema = STRING) -> Schema:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


def _path(name: str, description: str) -> Schema:
    """A path segment; blank (whitespace only) is a 400 on the jobs routes."""
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": NON_BLANK,
        "description": description,
    }


DEP_ID = _path("dep_id", "Deployment id.")


STATE_404: dict[int | str, Answer] = {404: NOT_FOUND_TEXT}
UNSUPPORTED_REGISTRAR = _text_or_json(
    "`unsupported-registrar` (JSON); text `404 page not found\\n` when the name holds a line "
    "break (no route matches).",
    "404 page not found\n",
)
RELAYED = Answer("pool-domain-manager's status and JSON body, relayed verbatim.", {JSON: {}})

SSE_EVENT: Schema = {
    "type": "object",
    "description": "One server-sent event: `data` is an Event (JSON) with `id` = its `seq`, or, "
    "last, `event: done` with the State (JSON).",
    "required": ["data"],
    "properties": {
        "event": {"enum": ["message", "done"]},
        "id": {"type": "string", "pattern": "^[0-9]+$"},
        "data": {"type": "string"},
    },
}

DEPLOYMENT = "/api/v1/deployments/{deployment_id}"
JOBS = "/api/v1/deployments/{dep_id}"

SOVEREIGN_K8S = "/api/v1/sovereigns/{sovereign_id}/k8s"
K8SCACHE_DISABLED = _text("The k8scache could not start.", "k8scache disabled\n")

OPERATIONS: dict[tuple[str, str], Operation] = {
    ("post", "/api/v1/credentials/validate"): Operation(
        body=_json_body("CredentialsRequest", required=True),
        responses={
            200: _json("Token checked against the Hetzner API.", "CredentialsAnswer"),
            400: Answer(
                "Undecodable body: text `invalid request body\\n`; token shorter than 64 "
                "characters: JSON `{valid: false, message}`.",
                {
                    TEXT: {"type": "string", "example": "invalid request body\n"},
                    JSON: _ref("CredentialsAnswer"),
                },
            ),
            503: _json("The Hetzner API could not be reached.", "CredentialsAnswer"),
        },
    ),
    ("post", "/api/v1/subdomains/check"): Operation(
        body=_json_body("SubdomainRequest", required=True),
        responses={
            200: _json("Availability verdict (also for invalid labels).", "SubdomainAnswer"),
            400: _json("Body is not JSON: `reason: invalid-format`.", "SubdomainAnswer"),
        },
    ),
    ("post", "/api/v1/sshkey/generate"): Operation(
        body=_json_body("SshKeyRequest", required=False, description="Optional comment host."),
        responses={
            200: _json("A fresh Ed25519 keypair (never stored).", "SshKeyPair"),
            400: _text("`fqdn` of the wrong type.", INVALID_BODY_TEXT),
            500: _json("Key generation failed: `{error}`."),
        },
    ),
    ("post", "/api/v1/registrar/{registrar}/validate"): Operation(
        body=_json_body("RegistrarValidateRequest", required=True),
        responses={
            400: _json("`invalid-body` or `request-too-large` (16 KiB)."),
            404: UNSUPPORTED_REGISTRAR,
            422: _json("`missing-domain` / `missing-token`."),
            502: _json("`pdm-unreachable`."),
            503: _json("`pdm-not-configured`: POOL_DOMAIN_MANAGER_URL is unset."),
            "default": RELAYED,
        },
    ),
    ("post", "/api/v1/registrar/{registrar}/set-ns"): Operation(
        body=RequestBody({JSON: {}}, True, "Relayed as is (no shape validation)."),
        responses={
            400: _json("`request-too-large` (16 KiB)."),
            404: UNSUPPORTED_REGISTRAR,
            502: _json("`pdm-unreachable`."),
            503: _json("`pdm-not-configured`: POOL_DOMAIN_MANAGER_URL is unset."),
            "default": RELAYED,
        },
    ),
    ("post", "/api/v1/deployments"): Operation(
        body=_json_body("CreateDeployment", required=True),
        responses={
            201: _json("Recorded; provisioning runs in the background.", "Created"),
            400: Answer(
                "Undecodable or mistyped body: text `invalid request body: <decoder error>` "
                '(the original\'s); failed validation: JSON `{"error": "<message>"}` or '
                '`{"error", "detail"}` (`unmanaged-pool-domain`, …).',
                {TEXT: {"type": "string", "example": INVALID_BODY_TEXT}, JSON: _ref("Error")},
            ),
            409: _json("`fqdn-in-use` (names the holder) or `subdomain-conflict`."),
            413: TOO_LARGE,
            503: _json("`pdm-unavailable` or `dns-credentials-missing`."),
        },
    ),
    ("post", "/api/v1/deployments/plan"): Operation(
        body=_json_body("CreateDeployment", required=True),
        responses={
            200: _json("The planned resources and a cost estimate; nothing is created.", "Plan"),
            400: Answer(
                "As for create: undecodable or mistyped body (text `invalid request body: …`) "
                "or failed validation (JSON).",
                {TEXT: {"type": "string", "example": INVALID_BODY_TEXT}, JSON: _ref("Error")},
            ),
            409: _json("As for create: `fqdn-in-use` or `subdomain-conflict`."),
            413: TOO_LARGE,
            422: _json("`plan-failed`: OpenTofu refused the plan (`diagnostics` lists why)."),
            429: Answer(
                "`too-many-plans`: CATALYST_PLAN_CONCURRENCY plans are running.",
                {JSON: _ref("Error")},
                headers={"Retry-After": {"type": "integer"}},
            ),
            503: _json("As for create: `pdm-unavailable` or `dns-credentials-missing`."),
            504: _json("`plan-timeout`: the plan took longer than CATALYST_PLAN_TIMEOUT."),
        },
    ),
    ("get", "/api/v1/deployments"): Operation(
        parameters=[
            _query("status", "Only deployments in this status.", _ref("Status")),
            _query(
                "limit", "Page size (default 50, at most 500).", {"type": "integer", "minimum": 1}
            ),
            _query("cursor", "`nextCursor` of the previous page (opaque)."),
        ],
        responses={
            200: _json("Newest first; `nextCursor` absent on the last page.", "DeploymentList"),
            400: _json("`invalid-status`, `invalid-limit` or `invalid-cursor`."),
        },
    ),
    ("get", DEPLOYMENT): Operation(
        responses={200: _json("The state object.", "State"), **STATE_404},
    ),
    ("delete", DEPLOYMENT): Operation(
        body=_json_body("TokenBody", required=False),
        responses={
            202: _json("Destroy started; follow `streamURL`.", "Created"),
            400: _text("Mistyped body.", INVALID_BODY_TEXT),
            **STATE_404,
            409: _json("`phase-running`, `already-destroyed` or `credentials-required`."),
            413: TOO_LARGE,
        },
    ),
    ("get", f"{DEPLOYMENT}/events"): Operation(
        responses={200: _json("State, buffered events, done flag.", "Events"), **STATE_404},
    ),
    ("get", f"{DEPLOYMENT}/logs"): Operation(
        parameters=[
            {
                "name": "Last-Event-ID",
                "in": "header",
                "required": False,
                "schema": {"type": "string", "pattern": "^[0-9]*$"},
                "description": "Resume after this event `seq` (wins over `since`).",
            }
        ],
        responses={
            200: Answer(
                "Server-sent events: first `retry: 1000` (reconnect after 1 s), then "
                "`id: <seq>` + `data: <event JSON>` frames, `: ping` comments when idle, then "
                "`event: done` with the state object.",
                {"text/event-stream": SSE_EVENT},
            ),
            400: _json("`invalid-last-event-id`: not an event seq number."),
            **STATE_404,
            503: Answer(
                "`too-many-streams`: CATALYST_SSE_MAX_STREAMS live streams (log and k8scache "
                "streams together) are served already.",
                {JSON: _ref("Error")},
                headers={"Retry-After": {"type": "string", "pattern": "^[0-9]+$"}},
            ),
        },
    ),
    ("get", f"{DEPLOYMENT}/kubeconfig"): Operation(
        responses={
            200: Answer(
                "The kubeconfig bytes as captured.",
                {
                    "application/yaml": {
                        "description": "The kubeconfig as PUT by cloud-init, byte for byte "
                        "(never parsed or validated by catalyst-api)."
                    }
                },
                headers={"Content-Disposition": STRING},
            ),
            **STATE_404,
            409: _json("`not-implemented` (not captured yet) or `kubeconfig-file-missing`."),
            410: _json("`deployment-destroyed`: the kubeconfig was deleted by destroy."),
        },
    ),
    ("put", f"{DEPLOYMENT}/kubeconfig"): Operation(
        body=RequestBody(
            {
                "application/yaml": {"type": "string"},
                "application/x-yaml": {"type": "string"},
                "text/plain": {"type": "string"},
            },
            True,
            "The kubeconfig, raw (any content type; not parsed). At most 1 MiB.",
        ),
        security=[{"kubeconfigBearer": []}],
        responses={
            204: Answer("Stored; Phase 1 starts."),
            401: _json("`missing-bearer`."),
            403: _json("`no-bearer-hash`, `invalid-bearer` or `already-set`."),
            **STATE_404,
            422: _json("`empty-body` or `body-too-large` (over 1 MiB)."),
            503: _json("The kubeconfigs directory is unconfigured or unwritable."),
        },
    ),
    ("post", f"{DEPLOYMENT}/phases/{{phase}}/retry"): Operation(
        body=_json_body("TokenBody", required=False),
        responses={
            200: _json(
                "Phase 0: re-run accepted (`status: provisioning`); Phase 1: "
                "`status: manual-retry-required` with a `runbook`.",
                "RetryAccepted",
            ),
            400: Answer(
                'Unknown phase: JSON `{"error": "unknown phase …"}`; mistyped body: text.',
                {TEXT: {"type": "string", "example": INVALID_BODY_TEXT}, JSON: _ref("Error")},
            ),
            **STATE_404,
            409: _json("In flight, destroyed, `credentials-required` or `subdomain-conflict`."),
            413: TOO_LARGE,
            503: _json("`pdm-unavailable` while re-reserving the pool subdomain."),
        },
    ),
    ("get", f"{JOBS}/jobs"): Operation(
        parameters=[DEP_ID],
        responses={
            200: _json("The deployment's jobs.", _obj(("jobs",), jobs=ARRAY_OF_OBJECTS)),
            400: _json("`missing-depId`."),
            404: NOT_FOUND_JSON,
            500: _json("`store-read-failed`."),
            503: JOBS_UNAVAILABLE,
        },
    ),
    ("get", f"{JOBS}/jobs/batches"): Operation(
        parameters=[DEP_ID],
        responses={
            200: _json("Batch summaries.", _obj(("batches",), batches=ARRAY_OF_OBJECTS)),
            400: _json("`missing-depId`."),
            404: NOT_FOUND_JSON,
            503: JOBS_UNAVAILABLE,
        },
    ),
    ("get", f"{JOBS}/jobs/{{job_id}}"): Operation(
        parameters=[DEP_ID, _path("job_id", "Job id.")],
        responses={
            200: _json(
                "A job and its executions.",
                _obj(("job", "executions"), job={"type": "object"}, executions=ARRAY_OF_OBJECTS),
            ),
            400: _json("`missing-path-params`."),
            404: NOT_FOUND_JSON,
            503: JOBS_UNAVAILABLE,
        },
    ),
    ("get", "/api/v1/actions/executions/{exec_id}/logs"): Operation(
        parameters=[
            _path("exec_id", "Execution id."),
            _query("fromLine", "First line (non-numeric = 0, the default)."),
            _query("limit", "Page size (non-numeric = 0, the default)."),
        ],
        responses={
            200: _json("A page of log lines.", {"type": "object"}),
            400: _json("`missing-execId` or an invalid paging value."),
            404: NOT_FOUND_JSON,
            500: _json("`store-read-failed`."),
            503: JOBS_UNAVAILABLE,
        },
    ),
    ("post", f"{JOBS}/refresh-watch"): Operation(
        responses={
            200: _json("A watcher is already running.", "Components"),
            202: _json("Watcher started and seeded.", "Components"),
            404: NOT_FOUND_JSON,
            409: _json("`watch-not-resumable`, or the deployment is being destroyed."),
            500: _json("`watcher-build-failed`."),
            503: _json("`jobs-store-unavailable` or `watches-unavailable`."),
            504: _json("`seed-timeout`."),
        },
    ),
    ("get", f"{JOBS}/components/state"): Operation(
        parameters=[DEP_ID],
        responses={
            200: _json("Live or persisted component states.", "Components"),
            400: _json("`missing-depId`."),
            404: NOT_FOUND_JSON,
            503: _json("`watches-unavailable`."),
        },
    ),
    ("get", f"{SOVEREIGN_K8S}/{{kind}}"): Operation(
        parameters=[
            _path("kind", "Kind: canonical name, plural or short alias (case-insensitive)."),
            _query("ns", "Only this namespace."),
            _query("labelSelector", "Kubernetes label selector grammar."),
            _query(
                "fieldSelector",
                "`metadata.name=`, `metadata.namespace=`, `metadata.labels.<k>=`, comma-ANDed; "
                "other keys are ignored.",
            ),
            _query("limit", "Page size: default 500, < 1 = 500, capped at 5000."),
            _query("continue", "Token of the next page (from `continue`)."),
        ],
        responses={
            200: Answer(
                "A page of cached objects, sorted by namespace/name.",
                {JSON: _obj(("kind", "cluster", "items", "ageSeconds"), items=ARRAY_OF_OBJECTS)},
                headers={
                    "X-Cache-Stale-Seconds": {"type": "string", "pattern": "^[0-9]+\\.[0-9]{2}$"}
                },
            ),
            400: _text("`bad labelSelector: …` or `bad continue token`.", "bad labelSelector: x"),
            404: Answer(
                'Unknown kind: JSON `{"error": "unknown kind", "kind", "availableKinds"}`; '
                "unregistered cluster: text.",
                {JSON: {"type": "object"}, TEXT: {"type": "string"}},
            ),
            503: K8SCACHE_DISABLED,
        },
    ),
    ("get", f"{SOVEREIGN_K8S}/stream"): Operation(
        parameters=[
            _query("kinds", "Comma-separated kinds (empty = all)."),
            _query("initialState", "`1`: an ADDED event per cached object first."),
        ],
        responses={
            200: Answer(
                "Server-sent events: `: connected …` with `retry: 1000`, `data: <event JSON>` "
                "frames (`cluster`, `kind`, `type`, `object`, `at`), `: ping <unix>` every 15 s, "
                "`event: resync` after this subscriber dropped events.",
                {"text/event-stream": {"type": "string"}},
            ),
            400: _text('`unknown kind "x"`.', 'unknown kind "x"\n'),
            404: _text("Cluster not registered.", "sovereign 'x' is not registered\n"),
            503: Answer(
                "Text `k8scache disabled`: the k8scache could not start; JSON "
                "`too-many-streams` (with `Retry-After`): CATALYST_SSE_MAX_STREAMS live streams "
                "(log and k8scache streams together) are served already.",
                {TEXT: {"type": "string", "example": "k8scache disabled\n"}, JSON: _ref("Error")},
            ),
        },
    ),
    ("get", f"{SOVEREIGN_K8S}/sync"): Operation(
        responses={
            200: _json(
                "Per-kind sync state (kinds the cluster does not serve are left out).",
                _obj(("cluster", "synced"), cluster=STRING, synced={"type": "object"}),
            ),
            404: _text("Cluster not registered.", "sovereign 'x' is not registered\n"),
            503: K8SCACHE_DISABLED,
        },
    ),
}

SECURITY_SCHEMES: Schema = {
    "kubeconfigBearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "The one-time token minted at create and handed to cloud-init; only "
        "its SHA-256 is stored; the kubeconfig PUT's only credential in every mode.",
    },
    "apiBearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "CATALYST_AUTH_MODE=required: an API token or an OIDC JWT (SSE routes "
        "also take `?access_token=`), or a trusted proxy's user header. `open` mode (the "
        "default) needs no credentials. See docs/SECURITY.md.",
    },
}
UNAUTHENTICATED = Answer(
    '`{"error": "unauthenticated"}` (CATALYST_AUTH_MODE=required): no credential, or an '
    "unknown / expired / forged token.",
    {JSON: _ref("Error")},
    headers={"WWW-Authenticate": {"type": "string"}},
)
FORBIDDEN = _json(
    '`{"error": "forbidden"}` (CATALYST_AUTH_MODE=required): the principal lacks the route\'s '
    "role (viewer, operator, admin)."
)


def _role_of(method: str, path: str) -> Role | None:
    for (m, template), rule in ROUTE_ACCESS.items():
        if m == method.upper() and template.replace(":path}", "}") == path:
            return rule.role
    return Role.ADMIN


def _apply(document: Schema) -> Schema:
    """Replace FastAPI's guesses with the table; fail loudly if the two disagree."""
    paths: dict[str, dict[str, Schema]] = document.get("paths", {})
    served = {(m, p) for p, ops in paths.items() for m in ops}
    if served != set(OPERATIONS):
        raise RuntimeError(f"openapi table out of date: {sorted(served ^ set(OPERATIONS))}")
    for (method, path), op in OPERATIONS.items():
        target = paths[path][method]
        responses = {**op.responses, 500: op.responses.get(500, INTERNAL)}
        if op.body is not None:  # every body is read with a deadline (api/bodies.py)
            responses.setdefault(408, REQUEST_TIMEOUT)
        if op.security is None and _role_of(method, path) is not None:
            responses.setdefault(401, UNAUTHENTICATED)
            responses.setdefault(403, FORBIDDEN)
            target["security"] = [{"apiBearer": []}, {}]
        target["responses"] = {str(k): answer.to_openapi() for k, answer in responses.items()}
        if op.body is not None:
            target["requestBody"] = op.body.to_openapi()
        if op.parameters:
            ours = {(p["name"], p["in"]) for p in op.parameters}
            kept = [p for p in target.get("parameters", []) if (p["name"], p["in"]) not in ours]
            target["parameters"] = [*kept, *op.parameters]
        if op.security is not None:
            target["security"] = op.security
    components = document.setdefault("components", {})
    components["schemas"] = dict(SCHEMAS)
    components["securitySchemes"] = SECURITY_SCHEMES
    return document


def install_openapi(app: FastAPI) -> None:
    """Serve the table-corrected document at `/openapi.json` (generated once, on first use)."""

    def openapi() -> Schema:
        if app.openapi_schema is None:
            app.openapi_schema = _apply(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    summary=app.summary,
                    routes=app.routes,
                )
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


# The infrastructure page and the treemap live in their own module (this one is long enough);
# imported last because it builds on the helpers above.
from .openapi_infra import INFRA_OPERATIONS, INFRA_SCHEMAS  # noqa: E402

OPERATIONS.update(INFRA_OPERATIONS)
SCHEMAS.update(INFRA_SCHEMAS)

# The console's session probe (issue 18).
SCHEMAS["Session"] = _obj(
    ("authMode", "principal", "role"),
    authMode={"enum": ["open", "required"]},
    principal={"type": ["string", "null"]},
    role={"enum": ["viewer", "operator", "admin", None]},
)
OPERATIONS[("get", "/api/v1/session")] = Operation(
    responses={
        200: _json(
            "The caller: `principal` and `role` are null in `open` mode (every caller may do "
            "everything there).",
            "Session",
        )
    },
)
