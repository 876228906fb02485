-- Jobs and executions of one deployment (spec §9.2): the document `index.json` holds in the
-- flat-file store, rewritten by each jobs transaction (the row is its lock across replicas).
CREATE TABLE job_indexes (
    deployment_id text PRIMARY KEY,
    body          jsonb NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- Which deployment an execution belongs to (`GET /actions/executions/{id}/logs`).
CREATE TABLE job_executions (
    execution_id  text PRIMARY KEY,
    deployment_id text NOT NULL
);
CREATE INDEX job_executions_deployment ON job_executions (deployment_id);

-- An execution's log lines (`<execId>.log` in files), numbered from 1 by the jobs index.
CREATE TABLE job_log_lines (
    execution_id text    NOT NULL,
    line_number  integer NOT NULL CHECK (line_number > 0),
    body         text    NOT NULL,
    PRIMARY KEY (execution_id, line_number)
);

-- Pool subdomains held by deployments: one row per (pool domain, subdomain), lower-case.
-- A row whose deployment no longer holds it (failed, destroyed) is taken over by the next
-- reservation, the way the file/memory store stops counting such a deployment.
CREATE TABLE pool_reservations (
    pool_domain   text NOT NULL,
    subdomain     text NOT NULL,
    deployment_id text NOT NULL,
    reserved_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (pool_domain, subdomain)
);
CREATE INDEX pool_reservations_deployment ON pool_reservations (deployment_id);

-- Pool deployments recorded before this migration: the newest record of each name holds it
-- (whether it still does is decided by its status, as for every row).
INSERT INTO pool_reservations (pool_domain, subdomain, deployment_id, reserved_at)
SELECT DISTINCT ON (1, 2)
       lower(btrim(record->'request'->>'sovereignPoolDomain')),
       lower(btrim(record->'request'->>'sovereignSubdomain')),
       id,
       updated_at
  FROM deployments
 WHERE record->'request'->>'sovereignDomainMode' = 'pool'
   AND coalesce(btrim(record->'request'->>'sovereignPoolDomain'), '') <> ''
   AND coalesce(btrim(record->'request'->>'sovereignSubdomain'), '') <> ''
 ORDER BY 1, 2, updated_at DESC;
