-- llmlb schema, version 2: when a rotated runtime token first went out in
-- a heartbeat reply. Such a successor may be in the node's hands, so a
-- restart keeps it; one that never went out is replaced by a fresh one.

ALTER TABLE runtime_tokens ADD COLUMN delivered_at TEXT;
