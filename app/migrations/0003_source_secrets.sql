-- A data source's password (database servers). Never sent to the browser;
-- encrypted at rest once the console's key store exists (security issue).
ALTER TABLE sources ADD COLUMN secret TEXT;
