-- Each user's console theme: `auto` follows the operating system's
-- preference, `light` and `dark` are the user's own choice.
ALTER TABLE users ADD COLUMN theme TEXT NOT NULL DEFAULT 'auto'
    CHECK (theme IN ('auto', 'light', 'dark'));
