// The kernel's numbers (include/uapi/linux/vfio.h, drivers/vfio/pci/vfio_pci_priv.h).
// Kept as plain constants so that a reader can hold them next to the C source.

export const VFIO_PCI_INTX_IRQ_INDEX = 0
export const VFIO_PCI_MSI_IRQ_INDEX = 1
export const VFIO_PCI_MSIX_IRQ_INDEX = 2
export const VFIO_PCI_ERR_IRQ_INDEX = 3
export const VFIO_PCI_REQ_IRQ_INDEX = 4
export const VFIO_PCI_NUM_IRQS = 5

export const IRQ_INDEX_NAMES = ['intx', 'msi', 'msix', 'err', 'req'] as const

export const VFIO_IRQ_INFO_EVENTFD = 0x1
export const VFIO_IRQ_INFO_MASKABLE = 0x2
export const VFIO_IRQ_INFO_AUTOMASKED = 0x4
export const VFIO_IRQ_INFO_NORESIZE = 0x8
export const IRQ_INFO_FLAG_NAMES: ReadonlyArray<readonly [number, string]> = [
  [VFIO_IRQ_INFO_EVENTFD, 'eventfd'],
  [VFIO_IRQ_INFO_MASKABLE, 'maskable'],
  [VFIO_IRQ_INFO_AUTOMASKED, 'automasked'],
  [VFIO_IRQ_INFO_NORESIZE, 'noresize']
]

export const VFIO_IRQ_SET_DATA_NONE = 0x01
export const VFIO_IRQ_SET_DATA_BOOL = 0x02
export const VFIO_IRQ_SET_DATA_EVENTFD = 0x04
export const VFIO_IRQ_SET_DATA_TYPE_MASK = 0x07
export const VFIO_IRQ_SET_ACTION_MASK = 0x08
export const VFIO_IRQ_SET_ACTION_UNMASK = 0x10
export const VFIO_IRQ_SET_ACTION_TRIGGER = 0x20
export const VFIO_IRQ_SET_ACTION_TYPE_MASK = 0x38

export const VFIO_DEVICE_FLAGS_RESET = 0x1
export const VFIO_DEVICE_FLAGS_PCI = 0x2
export const DEVICE_FLAG_NAMES: ReadonlyArray<readonly [number, string]> = [
  [VFIO_DEVICE_FLAGS_RESET, 'reset'],
  [VFIO_DEVICE_FLAGS_PCI, 'pci']
]

/** VFIO_PCI_NUM_REGIONS: BAR0-5, ROM, CONFIG, VGA. */
export const VFIO_PCI_NUM_REGIONS = 9

export const SIZEOF_VFIO_IRQ_INFO = 16
/** offsetofend(struct vfio_irq_set, count): the header before `data[]`. */
export const SIZEOF_VFIO_IRQ_SET_HDR = 20
/** offsetofend(struct vfio_device_info, num_irqs). */
export const SIZEOF_VFIO_DEVICE_INFO = 16

export const U32_MAX = 0xffffffff

/** The largest MSI-X table a PCI function can describe (PCI_MSIX_FLAGS_QSIZE + 1). */
export const MSIX_MAX_TABLE_SIZE = 2048
/** MSI's Multiple Message Capable field encodes 1, 2, 4, 8, 16 or 32 vectors. */
export const MSI_VECTOR_COUNTS = [1, 2, 4, 8, 16, 32] as const

export function flagNames (value: number, table: ReadonlyArray<readonly [number, string]>): string[] {
  const names: string[] = []
  for (const [bit, name] of table) if ((value & bit) !== 0) names.push(name)
  return names
}
