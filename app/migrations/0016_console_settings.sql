-- Console-wide settings an administrator changes (key → value), e.g.
-- whether viewers may download files from backup points.
CREATE TABLE console_settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
