-- Restore tasks, the phases each attempt went through, and their objects.

CREATE TABLE restores (
    id             INTEGER PRIMARY KEY,
    name           TEXT NOT NULL UNIQUE,
    -- The backup task whose points are restored; kept when it is deleted.
    task_id        INTEGER REFERENCES tasks(id) ON DELETE SET NULL,
    point_id       TEXT NOT NULL,
    -- The validated settings (model::RestoreSettings) as JSON.
    settings       TEXT NOT NULL,
    -- Where the data goes, without credentials, for lists.
    target         TEXT NOT NULL,
    state          TEXT NOT NULL CHECK (state IN ('new', 'pending', 'running', 'finished', 'failed', 'cancelled')),
    phase          TEXT,
    attempt        INTEGER NOT NULL DEFAULT 0,
    error          TEXT,
    -- The last Verify: which settings it checked, its items, and whether
    -- any failed or warned.
    verified_fingerprint TEXT,
    checks         TEXT,
    verify_outcome TEXT CHECK (verify_outcome IN ('pass', 'warn', 'fail')),
    verified_at    TEXT,
    bytes_total    INTEGER NOT NULL DEFAULT 0,
    bytes_loaded   INTEGER NOT NULL DEFAULT 0,
    rows_total     INTEGER NOT NULL DEFAULT 0,
    rows_loaded    INTEGER NOT NULL DEFAULT 0,
    created_at     TEXT NOT NULL,
    started_at     TEXT,
    finished_at    TEXT
);
CREATE INDEX restores_by_state ON restores (state, id DESC);

CREATE TABLE restore_phases (
    restore_id   INTEGER NOT NULL REFERENCES restores(id) ON DELETE CASCADE,
    attempt      INTEGER NOT NULL,
    phase        TEXT NOT NULL,
    started_at   TEXT NOT NULL,
    finished_at  TEXT,
    PRIMARY KEY (restore_id, attempt, phase)
);

-- The sub-tasks of a restore: one per object of the plan.
CREATE TABLE restore_objects (
    restore_id   INTEGER NOT NULL REFERENCES restores(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    target_name  TEXT NOT NULL,
    action       TEXT NOT NULL,
    bytes        INTEGER NOT NULL DEFAULT 0,
    rows         INTEGER,
    state        TEXT NOT NULL CHECK (state IN ('pending', 'done', 'failed', 'skipped')),
    error        TEXT,
    PRIMARY KEY (restore_id, name)
);
