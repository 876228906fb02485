-- Run leases: the replica whose `holder` is here runs the deployment's work until `expires_at`
-- (renewed by its heartbeat); an expired lease may be taken by any replica.
CREATE TABLE leases (
    deployment_id text PRIMARY KEY,
    holder        text NOT NULL,
    expires_at    timestamptz NOT NULL
);

-- Kubeconfigs PUT back by cloud-init, encrypted (AES-GCM) with the key named by `key_id`.
CREATE TABLE kubeconfigs (
    deployment_id text PRIMARY KEY,
    key_id        text NOT NULL,
    nonce         bytea NOT NULL,
    ciphertext    bytea NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX deployments_updated_at ON deployments (updated_at);
