-- Tenants and their bearer tokens. Devices and eventfds belong to the tenant that created
-- them; with authentication off everything belongs to 'default'. Tokens are stored only as
-- SHA-256 hashes: the token itself is shown once, when it is created.

ALTER TABLE devices ADD COLUMN owner TEXT NOT NULL DEFAULT 'default';
ALTER TABLE eventfds ADD COLUMN owner TEXT NOT NULL DEFAULT 'default';
CREATE INDEX devices_owner ON devices (owner, seq);
CREATE INDEX eventfds_owner ON eventfds (owner, fd);

CREATE TABLE tenants (
  name             TEXT PRIMARY KEY,
  max_devices      INTEGER,          -- NULL: no limit
  max_eventfds     INTEGER,
  max_host_vectors INTEGER,
  created_at       TEXT NOT NULL
) STRICT;

CREATE TABLE tokens (
  id         TEXT PRIMARY KEY,
  tenant     TEXT NOT NULL REFERENCES tenants (name),
  hash       TEXT NOT NULL UNIQUE,   -- hex SHA-256 of the token
  label      TEXT,
  created_at TEXT NOT NULL,
  revoked_at TEXT
) STRICT;
