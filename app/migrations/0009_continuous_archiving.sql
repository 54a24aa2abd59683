-- Point-in-time recovery. A continuous task's archiver copies its MariaDB
-- source's binary logs into the repository; its state is kept there (the
-- engine's archiver status, read through the timeline), so the catalog only
-- says which tasks are continuous: the column the supervisor queries on
-- (the setting itself is in the settings JSON, field `continuous`).
ALTER TABLE tasks ADD COLUMN continuous BOOLEAN NOT NULL DEFAULT FALSE;

-- A restore to a point in time (the chosen second is in its settings JSON):
-- the replay's result once it ran (the engine's replay figures and the row
-- counts read back, as JSON).
ALTER TABLE restores ADD COLUMN pitr_result TEXT;
