-- llmlb schema, version 4: the audit trail. Each row is written in the
-- transaction of the change it records; it never holds a secret.

CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         TEXT NOT NULL,
    actor_kind TEXT NOT NULL,   -- api_key, user, join_token, node, daemon, anonymous
    actor_id   TEXT,
    actor_name TEXT,
    source     TEXT,            -- the caller's address
    action     TEXT NOT NULL,   -- e.g. node.approve
    target     TEXT,            -- e.g. a node id
    outcome    TEXT NOT NULL,   -- ok, denied, failed
    detail     TEXT NOT NULL DEFAULT ''
);

CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_target ON audit_log (target, at);
