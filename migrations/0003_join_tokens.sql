-- llmlb schema, version 3: join tokens, which an administrator hands out so
-- that machines may register (and, with auto_approve, be admitted at once).

CREATE TABLE join_tokens (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL DEFAULT '',
    token_hash   BLOB NOT NULL UNIQUE,    -- SHA-256 of the secret
    created_at   TEXT NOT NULL,
    expires_at   TEXT,                    -- NULL: never
    uses_left    INTEGER,                 -- NULL: unlimited
    tags         TEXT NOT NULL DEFAULT '[]', -- JSON array of strings
    auto_approve INTEGER NOT NULL DEFAULT 0,
    last_used_at TEXT
);
