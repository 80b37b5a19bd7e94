-- virq's state: devices with their VFIO interrupt configuration, the host vectors they hold,
-- and eventfds. Host pool use is not stored: it is the number of rows in `vectors`.

CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) STRICT;

-- Eventfd numbers are never reused, across restarts too.
INSERT INTO meta (key, value) VALUES ('next_fd', 1);

CREATE TABLE devices (
  seq               INTEGER PRIMARY KEY AUTOINCREMENT, -- creation order, for pagination
  id                TEXT NOT NULL UNIQUE,
  name              TEXT NOT NULL,
  created_at        TEXT NOT NULL,
  abi               TEXT NOT NULL CHECK (abi IN ('linux-6.12', 'linux-6.1')),
  pcie              INTEGER NOT NULL,
  reset             INTEGER NOT NULL,
  intx              INTEGER NOT NULL,
  msi_vectors       INTEGER NOT NULL,
  msix_table_size   INTEGER NOT NULL,
  msix_dynamic      INTEGER NOT NULL,
  version           INTEGER NOT NULL,
  irq_type          TEXT NOT NULL CHECK (irq_type IN ('none', 'intx', 'msi', 'msix')),
  intx_trigger      INTEGER NOT NULL,
  intx_unmask_fd    INTEGER NOT NULL,
  intx_masked       INTEGER NOT NULL,
  intx_line         INTEGER NOT NULL,
  msi_enabled_nvec  INTEGER NOT NULL,
  msix_enabled_nvec INTEGER NOT NULL,
  err_trigger       INTEGER NOT NULL,
  req_trigger       INTEGER NOT NULL
) STRICT;

-- One row per MSI/MSI-X vector that holds a host vector; trigger is an eventfd number or -1.
CREATE TABLE vectors (
  device_id TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
  irq_index INTEGER NOT NULL CHECK (irq_index IN (1, 2)),
  vector    INTEGER NOT NULL,
  trigger   INTEGER NOT NULL,
  PRIMARY KEY (device_id, irq_index, vector)
) STRICT, WITHOUT ROWID;

CREATE TABLE eventfds (
  fd         INTEGER PRIMARY KEY,
  value      INTEGER NOT NULL,
  semaphore  INTEGER NOT NULL,
  label      TEXT,
  created_at TEXT NOT NULL
) STRICT;
