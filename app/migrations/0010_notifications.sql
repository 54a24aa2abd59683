-- Notifications: channels an admin configures, and an outbox of deliveries
-- that a dispatcher sends (with retries) apart from the jobs, so a slow or
-- dead channel never holds up a backup. A task's own rule (default,
-- failures only, everything, off) is part of its settings JSON (`notify`).
CREATE TABLE notification_channels (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    kind        TEXT NOT NULL CHECK (kind IN ('webhook', 'email')),
    -- model::ChannelSettings as JSON, without the secret.
    settings    TEXT NOT NULL,
    -- The webhook's signing key or the SMTP password, sealed like source passwords.
    secret      TEXT,
    -- The events this channel receives by default (JSON list of event names).
    events      TEXT NOT NULL,
    enabled     BOOLEAN NOT NULL DEFAULT TRUE,
    created_at  TEXT NOT NULL
);

CREATE TABLE notification_deliveries (
    id               INTEGER PRIMARY KEY,
    channel_id       INTEGER NOT NULL REFERENCES notification_channels(id) ON DELETE CASCADE,
    event            TEXT NOT NULL,
    -- One line for the log and the mail's subject.
    summary          TEXT NOT NULL,
    -- The exact JSON body sent (and signed) on every attempt.
    body             TEXT NOT NULL,
    state            TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT,
    last_error       TEXT,
    created_at       TEXT NOT NULL,
    finished_at      TEXT
);
CREATE INDEX notification_deliveries_due ON notification_deliveries (state, next_attempt_at);
CREATE INDEX notification_deliveries_by_channel ON notification_deliveries (channel_id, id DESC);
