-- Each user's console language: empty follows the browser's Accept-Language,
-- otherwise a locale of the console (`en`, `zh-CN`, …), checked by the server
-- against the locales it was built with.
ALTER TABLE users ADD COLUMN locale TEXT NOT NULL DEFAULT '';
