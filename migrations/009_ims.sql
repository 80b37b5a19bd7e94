-- IMS-backed MSI-X (docs/model.md 13): parents with an interrupt message store, the parent
-- of a device, its emulated MSI-X vectors, and what backs each vector.
--
-- A parent's slots in use are not stored: they are its devices' vectors whose backing is 2
-- (ims), so they cannot disagree with the vectors after a restart.
CREATE TABLE parents (
  seq        INTEGER PRIMARY KEY AUTOINCREMENT, -- creation order, for listing
  id         TEXT NOT NULL UNIQUE,
  owner      TEXT NOT NULL,
  name       TEXT NOT NULL,
  ims_slots  INTEGER NOT NULL CHECK (ims_slots > 0),
  created_at TEXT NOT NULL
) STRICT;

-- NULL: host vectors back the device's MSI-X. A parent with devices is not deleted (the
-- model answers EBUSY first; the foreign key makes sure).
ALTER TABLE devices ADD COLUMN parent TEXT REFERENCES parents (id);
-- The emulated MSI-X vectors of an IMS-backed device, as a JSON array of vector numbers; NULL: none.
ALTER TABLE devices ADD COLUMN msix_emulated TEXT;

-- 1 host, 2 ims (a slot of the device's parent and a host vector), 3 emulated (no host vector).
ALTER TABLE vectors ADD COLUMN backing INTEGER NOT NULL DEFAULT 1 CHECK (backing IN (1, 2, 3));
