-- Deployment records (the original's JSON object) and their append-only event history.
CREATE TABLE deployments (
    id         text PRIMARY KEY,
    record     jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- One row per event; `body` is the event's JSON exactly as streamed (text keeps key order).
CREATE TABLE events (
    deployment_id text   NOT NULL,
    seq           bigint NOT NULL CHECK (seq > 0),
    body          text   NOT NULL,
    PRIMARY KEY (deployment_id, seq)
);
