-- The storage probe: while writes fail (disk full, file made read-only), virq checks now and
-- then whether the database can take a write that needs a new page again, by inserting a
-- page-sized row here and deleting it in the same transaction. Always empty between probes.
CREATE TABLE storage_probe (
  data BLOB NOT NULL
) STRICT;
