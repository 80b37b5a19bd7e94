-- Mask bits and pending bits (docs/model.md 11).
-- Pending bits change on the interrupt path: they are stored with the counters, written by the
-- flusher (and by any SET_IRQS that sends a pending message), so a hard kill loses at most one
-- flush interval of them, as of the counters.
ALTER TABLE irq_counters ADD COLUMN pending INTEGER NOT NULL DEFAULT 0;
ALTER TABLE irq_counters ADD COLUMN pended INTEGER NOT NULL DEFAULT 0;
ALTER TABLE irq_counters ADD COLUMN coalesced INTEGER NOT NULL DEFAULT 0;
ALTER TABLE irq_counters ADD COLUMN delivered_from_pending INTEGER NOT NULL DEFAULT 0;

-- The masking options of a device and its MSI-X user masks (set by SET_IRQS MASK/UNMASK:
-- durable before the answer, like triggers). One row only for a device with an option on.
-- msix_user_mask: one byte per MSI-X vector, 1 where the user masked it.
CREATE TABLE device_masking (
  device_id           TEXT PRIMARY KEY REFERENCES devices (id) ON DELETE CASCADE,
  msi_per_vector_mask INTEGER NOT NULL,
  msix_maskable       INTEGER NOT NULL,
  msix_user_mask      BLOB NOT NULL
) STRICT, WITHOUT ROWID;
