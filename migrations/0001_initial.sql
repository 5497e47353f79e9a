-- llmlb schema, version 1. Migrations are append-only: never edit a file
-- that has shipped; add the next number instead.

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,          -- argon2 PHC string
    role          TEXT NOT NULL CHECK (role IN ('admin', 'viewer')),
    created_at    TEXT NOT NULL
);

CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('admin', 'viewer', 'inference')),
    key_hash     BLOB NOT NULL UNIQUE,    -- SHA-256 of the secret
    created_at   TEXT NOT NULL,
    expires_at   TEXT,
    last_used_at TEXT
);

CREATE TABLE sessions (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash BLOB NOT NULL UNIQUE,      -- SHA-256 of the secret
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);

CREATE TABLE nodes (
    id                       TEXT PRIMARY KEY,
    machine_name             TEXT NOT NULL,
    custom_name              TEXT,
    ip_address               TEXT NOT NULL,
    runtime_version          TEXT NOT NULL DEFAULT '',
    runtime_port             INTEGER NOT NULL,
    node_api_port            INTEGER NOT NULL,
    admission                TEXT NOT NULL CHECK (admission IN ('pending', 'approved')),
    drained                  INTEGER NOT NULL DEFAULT 0,
    registered_at            TEXT NOT NULL,
    approved_at              TEXT,
    last_seen                TEXT,
    online_since             TEXT,
    notes                    TEXT,
    gpu_available            INTEGER NOT NULL DEFAULT 0,
    gpu_count                INTEGER,
    gpu_model                TEXT,
    gpu_model_name           TEXT,
    gpu_compute_capability   TEXT,
    gpu_capability_score     INTEGER,
    initializing             INTEGER NOT NULL DEFAULT 0,
    ready_models_ready       INTEGER,
    ready_models_total       INTEGER,
    cpu_usage                REAL,
    memory_usage             REAL,
    gpu_usage                REAL,
    gpu_memory_usage         REAL,
    active_requests          INTEGER,
    average_response_time_ms REAL,
    metrics_updated_at       TEXT,
    imported_at              TEXT,
    updated_at               TEXT NOT NULL
);

-- A re-registering machine is matched by machine name and runtime port.
CREATE INDEX nodes_identity ON nodes (machine_name, runtime_port);

CREATE TABLE node_gpu_devices (
    node_id  TEXT NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    model    TEXT NOT NULL,
    count    INTEGER NOT NULL,
    memory   INTEGER,
    PRIMARY KEY (node_id, position)
);

CREATE TABLE node_loaded_models (
    node_id TEXT NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,
    kind    TEXT NOT NULL CHECK (kind IN ('llm', 'embedding', 'asr', 'tts')),
    model   TEXT NOT NULL,
    PRIMARY KEY (node_id, kind, model)
);

CREATE TABLE node_supported_runtimes (
    node_id TEXT NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,
    runtime TEXT NOT NULL,
    PRIMARY KEY (node_id, runtime)
);

CREATE TABLE node_tags (
    node_id TEXT NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,
    tag     TEXT NOT NULL,
    PRIMARY KEY (node_id, tag)
);

-- A node has at most one 'current' token and, during a rotation, one 'next'.
CREATE TABLE runtime_tokens (
    node_id    TEXT NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,
    kind       TEXT NOT NULL CHECK (kind IN ('current', 'next')),
    token_hash BLOB NOT NULL UNIQUE,      -- SHA-256 of the secret
    created_at TEXT NOT NULL,
    expires_at TEXT,                      -- set on 'current' while a rotation runs
    PRIMARY KEY (node_id, kind)
);
