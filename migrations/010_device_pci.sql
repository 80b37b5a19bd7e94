-- A device's PCI identity (docs/model.md 14): what a vfio-user client reads in its config
-- space. Only devices created with `pci` have a row; the others take their template's IDs
-- or virq's default (1b36:0005, class ff0000).
CREATE TABLE device_pci (
  device_id TEXT PRIMARY KEY REFERENCES devices (id) ON DELETE CASCADE,
  vendor    INTEGER NOT NULL CHECK (vendor BETWEEN 0 AND 65535),
  device    INTEGER NOT NULL CHECK (device BETWEEN 0 AND 65535),
  class     INTEGER NOT NULL CHECK (class BETWEEN 0 AND 16777215)
) STRICT;
