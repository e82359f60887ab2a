-- The HyperCode stand-in's one table. Idempotent: the controller applies it on every start.
-- A row is written (status queued) and committed before the API acknowledges the crew with
-- 201, so this table is the record of every acknowledged mission; Redis holds only the queue.

CREATE TABLE IF NOT EXISTS missions (
    mission_id   uuid        PRIMARY KEY,
    crew_id      uuid        NOT NULL,
    mission      text        NOT NULL,
    priority     text        NOT NULL CHECK (priority IN ('low', 'normal', 'high')),
    agents       int         NOT NULL CHECK (agents BETWEEN 1 AND 16),
    status       text        NOT NULL DEFAULT 'queued'
                             CHECK (status IN ('queued', 'running', 'completed', 'failed')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz,
    worker       text,
    attempts     int         NOT NULL DEFAULT 0,
    tokens       int         NOT NULL DEFAULT 0
);

-- The watchdog's scans: 'running' or 'queued' rows older than the re-queue threshold.
CREATE INDEX IF NOT EXISTS missions_status_updated_at_idx ON missions (status, updated_at);
