-- Device-originated interrupt counters per vector (docs/model.md 7). Written by the flusher at
-- most every --flush-ms and at shutdown, so a hard kill loses at most one interval of them.
CREATE TABLE irq_counters (
  device_id           TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
  irq_index           INTEGER NOT NULL CHECK (irq_index BETWEEN 0 AND 4),
  vector              INTEGER NOT NULL,
  fired               INTEGER NOT NULL,
  delivered           INTEGER NOT NULL,
  lost_index_disabled INTEGER NOT NULL,
  lost_not_allocated  INTEGER NOT NULL,
  lost_no_trigger     INTEGER NOT NULL,
  PRIMARY KEY (device_id, irq_index, vector)
) STRICT, WITHOUT ROWID;
