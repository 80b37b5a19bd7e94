-- The vectors of one device's MSI or MSI-X index as one row (docs/architecture.md, "Storage
-- layout"), instead of one row per vector: a restart of 100,000 devices x 64 vectors reads
-- 100,000 rows, not 6.4 million, and the file (and PRAGMA quick_check at start, which reads
-- every page) shrinks to a fraction.
--
--   triggers  one signed 32-bit little-endian integer per vector of the table (the device's
--             msi_vectors or msix_table_size): its trigger eventfd's number, -1 for none
--             (-1 too wherever the vector holds nothing)
--   backings  one byte per vector: 0 nothing allocated, 1 host, 2 ims (an IMS slot of the
--             device's parent and a host vector), 3 emulated (no host vector)
--
-- A vector holds a host vector where its backing is 1 or 2: the host pool's use and a
-- parent's IMS slots in use are still derived from these bytes at load, never stored.
-- An index with no vector allocated has no row. The repository rewrites an index's row in the
-- same transaction as the change, as it wrote the vector rows before (durable before the answer).
CREATE TABLE vector_blocks (
  device_id TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
  irq_index INTEGER NOT NULL CHECK (irq_index IN (1, 2)),
  triggers  BLOB NOT NULL,
  backings  BLOB NOT NULL,
  PRIMARY KEY (device_id, irq_index),
  CHECK (length(triggers) = 4 * length(backings))
) STRICT, WITHOUT ROWID;

-- Each old row becomes its vector's slot in the block; the slots no row named stay empty
-- (trigger -1, backing 0). A trigger's four bytes are written low byte first; SQLite's >> keeps
-- the sign, so -1 becomes FFFFFFFF.
WITH RECURSIVE
  n(v) AS (SELECT 0 UNION ALL SELECT v + 1 FROM n
    WHERE v + 1 < (SELECT max(max(msi_vectors), max(msix_table_size)) FROM devices)),
  sized AS (
    SELECT s.device_id, s.irq_index, CASE s.irq_index WHEN 1 THEN d.msi_vectors ELSE d.msix_table_size END AS size
    FROM (SELECT DISTINCT device_id, irq_index FROM vectors) s JOIN devices d ON d.id = s.device_id)
INSERT INTO vector_blocks (device_id, irq_index, triggers, backings)
  SELECT z.device_id, z.irq_index,
    unhex(group_concat(CASE WHEN x.vector IS NULL THEN 'FFFFFFFF' ELSE printf('%02X%02X%02X%02X',
      x.trigger & 255, (x.trigger >> 8) & 255, (x.trigger >> 16) & 255, (x.trigger >> 24) & 255) END, '' ORDER BY n.v)),
    unhex(group_concat(CASE WHEN x.vector IS NULL THEN '00' ELSE printf('%02X', x.backing) END, '' ORDER BY n.v))
  FROM sized z JOIN n ON n.v < z.size
    LEFT JOIN vectors x ON x.device_id = z.device_id AND x.irq_index = z.irq_index AND x.vector = n.v
  GROUP BY z.device_id, z.irq_index;

DROP TABLE vectors;
