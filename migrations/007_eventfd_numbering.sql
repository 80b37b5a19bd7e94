-- Each tenant numbers its own eventfds, as each process has its own file descriptor table:
-- a tenant's first eventfd is 1 and its numbers are never reused, across restarts too.
-- Eventfds are keyed by (owner, fd); each tenant's next number is kept in eventfd_numbering.
--
-- Existing eventfds keep their numbers (triggers in `vectors` and `devices` refer to them),
-- and every tenant known so far continues from the old global next number: whichever numbers
-- it had closed stay unused.

CREATE TABLE eventfds_by_owner (
  owner      TEXT NOT NULL,
  fd         INTEGER NOT NULL,
  value      INTEGER NOT NULL,
  semaphore  INTEGER NOT NULL,
  label      TEXT,
  created_at TEXT NOT NULL,
  PRIMARY KEY (owner, fd)
) STRICT, WITHOUT ROWID;

INSERT INTO eventfds_by_owner (owner, fd, value, semaphore, label, created_at)
  SELECT owner, fd, value, semaphore, label, created_at FROM eventfds;
DROP TABLE eventfds;
ALTER TABLE eventfds_by_owner RENAME TO eventfds;

CREATE TABLE eventfd_numbering (
  owner   TEXT PRIMARY KEY,
  next_fd INTEGER NOT NULL CHECK (next_fd >= 1)
) STRICT;

INSERT INTO eventfd_numbering (owner, next_fd)
  SELECT owner, (SELECT value FROM meta WHERE key = 'next_fd') FROM (
    SELECT owner FROM eventfds UNION SELECT owner FROM devices UNION SELECT name FROM tenants
  ) WHERE (SELECT value FROM meta WHERE key = 'next_fd') > 1;

DELETE FROM meta WHERE key = 'next_fd';

-- A tenant's own limit of MSI + MSI-X table entries (NULL: only the instance's).
ALTER TABLE tenants ADD COLUMN max_table_entries INTEGER;
