-- A repository's upload limit in MiB per second (NULL: none): every job
-- writing to it (backups of any task, copies into it) stays below it,
-- together with the task's own limit.
ALTER TABLE repositories ADD COLUMN limit_upload_mib INTEGER;
