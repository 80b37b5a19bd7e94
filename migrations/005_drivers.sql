-- Profiles and drivers (docs/model.md 2 and 12): the abi gains linux-5.10 and tglx-2021, and a
-- device names its driver (whose answers it gives) and the template it was created from.
--
-- SQLite cannot change a CHECK constraint in place, and rebuilding `devices` would cascade
-- into `vectors` and `irq_counters`. The abi column is re-added instead: a column's own CHECK
-- goes with it when it is dropped, and every other column (whoever added it) stays.
ALTER TABLE devices RENAME COLUMN abi TO abi_before_005;
ALTER TABLE devices ADD COLUMN abi TEXT NOT NULL DEFAULT 'linux-6.12'
  CHECK (abi IN ('linux-6.12', 'linux-6.1', 'linux-5.10', 'tglx-2021'));
UPDATE devices SET abi = abi_before_005;
ALTER TABLE devices DROP COLUMN abi_before_005;

ALTER TABLE devices ADD COLUMN driver TEXT NOT NULL DEFAULT 'vfio-pci'
  CHECK (driver IN ('vfio-pci', 'mtty', 'kvmgt'));
-- NULL: created from explicit capabilities.
ALTER TABLE devices ADD COLUMN template TEXT;
-- A driver's own state beyond the VFIO state every driver has (mtty: whether GET_INFO has
-- run, the pre-6.7 sample's stale eventfd pointers); a bit set, 0 for vfio-pci.
ALTER TABLE devices ADD COLUMN driver_state INTEGER NOT NULL DEFAULT 0;
