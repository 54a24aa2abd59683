-- Scheduled repository checks: per repository a structure check and a data
-- check (a rotating share of the packs read back), each on its own
-- schedule, and the history of every check run, scheduled or by hand.
CREATE TABLE repository_check_plans (
    repository_id  INTEGER NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    kind           TEXT NOT NULL CHECK (kind IN ('structure', 'data')),
    -- model::Schedule as JSON.
    schedule       TEXT NOT NULL,
    read_percent   INTEGER NOT NULL DEFAULT 100 CHECK (read_percent BETWEEN 1 AND 100),
    -- The next scheduled slot; NULL when only run by hand.
    next_at        TEXT,
    -- The data check's next round of the pack rotation (engine ReadSubset).
    round          INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (repository_id, kind)
);

CREATE TABLE repository_check_runs (
    id             INTEGER PRIMARY KEY,
    repository_id  INTEGER NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    kind           TEXT NOT NULL CHECK (kind IN ('structure', 'data')),
    trigger        TEXT NOT NULL CHECK (trigger IN ('manual', 'schedule')),
    outcome        TEXT NOT NULL CHECK (outcome IN ('running', 'clean', 'damaged', 'failed')),
    read_percent   INTEGER NOT NULL DEFAULT 100,
    started_at     TEXT NOT NULL,
    finished_at    TEXT,
    points         INTEGER NOT NULL DEFAULT 0,
    objects        INTEGER NOT NULL DEFAULT 0,
    packs_total    INTEGER NOT NULL DEFAULT 0,
    packs_read     INTEGER NOT NULL DEFAULT 0,
    bytes_read     INTEGER NOT NULL DEFAULT 0,
    -- The engine's Problem list as JSON: what is damaged and which points it breaks.
    problems       TEXT NOT NULL DEFAULT '[]',
    error          TEXT
);
-- One check per repository at a time, enforced by the catalog itself.
CREATE UNIQUE INDEX repository_check_runs_one_running
    ON repository_check_runs (repository_id) WHERE outcome = 'running';
CREATE INDEX repository_check_runs_by_repository ON repository_check_runs (repository_id, id DESC);
