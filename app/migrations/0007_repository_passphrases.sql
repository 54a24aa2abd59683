-- An encrypted repository's passphrase, sealed like source passwords
-- (catalog::Catalog::seal_secret). NULL: a plain repository, or an encrypted
-- one the console cannot open until an administrator unlocks it.
ALTER TABLE repositories ADD COLUMN passphrase TEXT;
-- The passphrase before a change in progress: opening falls back to it, so a
-- stop between the engine's re-wrap and the catalog's update loses nothing.
ALTER TABLE repositories ADD COLUMN passphrase_previous TEXT;
-- When and by whom the current passphrase was last exported (recovery).
ALTER TABLE repositories ADD COLUMN passphrase_exported_at TEXT;
ALTER TABLE repositories ADD COLUMN passphrase_exported_by TEXT;
