-- Copy jobs: keep a second copy of backup points in another repository
-- (typically local → S3), on a schedule, with the destination's own
-- retention; and the history of each copy run.
CREATE TABLE copy_jobs (
    id                  INTEGER PRIMARY KEY,
    name                TEXT NOT NULL UNIQUE,
    from_repository_id  INTEGER NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    to_repository_id    INTEGER NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    -- model::CopyJobSettings as JSON (task filter, schedule, retention).
    settings            TEXT NOT NULL,
    enabled             BOOLEAN NOT NULL DEFAULT TRUE,
    next_at             TEXT,
    created_at          TEXT NOT NULL,
    CHECK (from_repository_id <> to_repository_id)
);

CREATE TABLE copy_runs (
    id               INTEGER PRIMARY KEY,
    job_id           INTEGER NOT NULL REFERENCES copy_jobs(id) ON DELETE CASCADE,
    trigger          TEXT NOT NULL CHECK (trigger IN ('manual', 'schedule')),
    state            TEXT NOT NULL CHECK (state IN ('running', 'succeeded', 'failed')),
    started_at       TEXT NOT NULL,
    finished_at      TEXT,
    -- Point ids copied, as a JSON list.
    copied           TEXT NOT NULL DEFAULT '[]',
    points_present   INTEGER NOT NULL DEFAULT 0,
    chunks_written   INTEGER NOT NULL DEFAULT 0,
    chunks_present   INTEGER NOT NULL DEFAULT 0,
    bytes_written    INTEGER NOT NULL DEFAULT 0,
    points_pruned    INTEGER NOT NULL DEFAULT 0,
    error            TEXT
);
CREATE UNIQUE INDEX copy_runs_one_running ON copy_runs (job_id) WHERE state = 'running';
CREATE INDEX copy_runs_by_job ON copy_runs (job_id, id DESC);
