-- The configuration trace: every configuration call on a device (create, SET_IRQS in either
-- form, reset), written in the same transaction as the change it records. Bounded per device
-- (--trace-retention): the oldest entries go first. Deleted with their device.
CREATE TABLE trace (
  seq             INTEGER PRIMARY KEY AUTOINCREMENT,
  device_id       TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
  at              TEXT NOT NULL,    -- ISO time
  t               REAL NOT NULL,    -- the same instant, epoch ms with sub-ms precision
  op              TEXT NOT NULL CHECK (op IN ('create', 'set-irqs', 'ioctl-set-irqs', 'reset', 'ioctl-reset')),
  request         TEXT NOT NULL,    -- JSON
  result          INTEGER,          -- NULL when the call failed with an errno
  errno           TEXT,
  errno_value     INTEGER,
  reason          TEXT,
  irq_type_before TEXT NOT NULL,
  irq_type_after  TEXT NOT NULL,
  version         INTEGER NOT NULL,
  lost            INTEGER NOT NULL, -- lost on the device since the previous entry
  pended          INTEGER NOT NULL,
  lost_total      INTEGER NOT NULL, -- the device's running totals at this entry
  pended_total    INTEGER NOT NULL
) STRICT;
CREATE INDEX trace_device ON trace (device_id, seq);
