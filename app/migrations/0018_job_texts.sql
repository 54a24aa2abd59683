-- Job text the console can show in the reader's language. A log line keeps
-- its English `message` (the REST API, the CLI) and gains the key of its
-- sentence and the values that fill it (JSON); a failed run or restore keeps
-- its message and gains the kind of failure, which heads it on the page.
-- Rows from before stay as they were: no key, shown as written.
ALTER TABLE run_logs ADD COLUMN message_key TEXT;
ALTER TABLE run_logs ADD COLUMN message_args TEXT;
ALTER TABLE runs ADD COLUMN error_kind TEXT;
ALTER TABLE restores ADD COLUMN error_kind TEXT;
