-- Restore drills. A task's drill plan and its RPO/RTO targets are part of
-- its settings (the JSON of model::TaskSettings, field `recovery`); the
-- column below is what the scheduler queries on.
ALTER TABLE tasks ADD COLUMN drill_next_at TEXT;

-- A PostgreSQL source kept for drills: they create and drop scratch
-- databases on it.
ALTER TABLE sources ADD COLUMN drill_server BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE drill_runs (
    id                 INTEGER PRIMARY KEY,
    task_id            INTEGER NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    trigger            TEXT NOT NULL CHECK (trigger IN ('manual', 'schedule', 'after_backups', 'retry')),
    status             TEXT NOT NULL CHECK (status IN ('running', 'passed', 'failed')),
    point              TEXT,
    -- When the drilled point was taken: "proven restorable as of".
    point_finished_at  TEXT,
    sandbox            TEXT,
    started_at         TEXT NOT NULL,
    finished_at        TEXT,
    -- Restore plus content proof: the measured RTO.
    rto_seconds        REAL,
    -- The whole drill, sandbox and cleanup included.
    seconds            REAL,
    bytes              INTEGER NOT NULL DEFAULT 0,
    rows               INTEGER NOT NULL DEFAULT 0,
    objects            INTEGER NOT NULL DEFAULT 0,
    -- The engine's DrillPhase and DrillCheck lists as JSON.
    phases             TEXT NOT NULL DEFAULT '[]',
    checks             TEXT NOT NULL DEFAULT '[]',
    error              TEXT
);
-- One drill per task at a time, enforced by the catalog itself.
CREATE UNIQUE INDEX drill_runs_one_running ON drill_runs (task_id) WHERE status = 'running';
CREATE INDEX drill_runs_by_task ON drill_runs (task_id, id DESC);
