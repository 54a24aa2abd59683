-- Data sources, backup tasks and their runs.

CREATE TABLE sources (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    kind         TEXT NOT NULL,
    -- An absolute path for file trees and SQLite; a URL without password for servers.
    location     TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    is_demo      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);

CREATE TABLE tasks (
    id                  INTEGER PRIMARY KEY,
    name                TEXT NOT NULL UNIQUE,
    source_id           INTEGER NOT NULL REFERENCES sources(id),
    repository_id       INTEGER NOT NULL REFERENCES repositories(id),
    -- The validated settings (model::TaskSettings) as JSON; the columns
    -- below repeat what lists and the scheduler query on.
    settings            TEXT NOT NULL,
    periodic            BOOLEAN NOT NULL,
    enabled             BOOLEAN NOT NULL,
    next_run_at         TEXT,
    -- A failed run waiting to be retried, and which attempt that will be.
    retry_at            TEXT,
    retry_attempt       INTEGER NOT NULL DEFAULT 0,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL
);
CREATE INDEX tasks_due ON tasks (enabled, next_run_at);

CREATE TABLE runs (
    id            INTEGER PRIMARY KEY,
    task_id       INTEGER NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    trigger       TEXT NOT NULL CHECK (trigger IN ('manual', 'schedule', 'retry')),
    late          BOOLEAN NOT NULL DEFAULT FALSE,
    attempt       INTEGER NOT NULL DEFAULT 1,
    state         TEXT NOT NULL CHECK (state IN ('running', 'succeeded', 'failed', 'cancelled')),
    mode          TEXT CHECK (mode IN ('full', 'incremental')),
    started_at    TEXT NOT NULL,
    finished_at   TEXT,
    point         TEXT,
    backup_path   TEXT,
    objects       INTEGER NOT NULL DEFAULT 0,
    bytes         INTEGER NOT NULL DEFAULT 0,
    bytes_stored  INTEGER NOT NULL DEFAULT 0,
    chunks        INTEGER NOT NULL DEFAULT 0,
    new_chunks    INTEGER NOT NULL DEFAULT 0,
    error         TEXT
);
-- One run per task at a time, enforced by the catalog itself.
CREATE UNIQUE INDEX runs_one_running ON runs (task_id) WHERE state = 'running';
CREATE INDEX runs_by_task ON runs (task_id, id DESC);
CREATE INDEX runs_by_task_state ON runs (task_id, state, id DESC);

CREATE TABLE run_logs (
    id       INTEGER PRIMARY KEY,
    run_id   INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    at       TEXT NOT NULL,
    level    TEXT NOT NULL,
    message  TEXT NOT NULL
);
CREATE INDEX run_logs_by_run ON run_logs (run_id, id);
