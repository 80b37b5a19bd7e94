// Linux errno numbers the model answers with (asm-generic/errno-base.h).
export const ERRNO = {
  EBADF: 9,
  EAGAIN: 11,
  EFAULT: 14,
  EBUSY: 16,
  EINVAL: 22,
  ENOTTY: 25,
  ENOSPC: 28,
  ERANGE: 34
} as const

export type ErrnoName = keyof typeof ERRNO

/**
 * A failed ioctl: the errno the kernel would return plus a stable kebab-case `reason`
 * that says which rule fired (several rules share EINVAL, and users need to tell them apart).
 */
export class VfioError extends Error {
  readonly errno: ErrnoName
  readonly reason: string
  /**
   * Set when the failed call still changed the device, as the kernel's partial effects do
   * (docs/model.md 5.4: a block that fails half-way keeps what an earlier step did): the
   * device's version after that change. Clients must not assume a failure changed nothing.
   */
  changedVersion?: number

  constructor (errno: ErrnoName, reason: string, detail: string) {
    super(detail)
    this.name = 'VfioError'
    this.errno = errno
    this.reason = reason
  }

  get errnoValue (): number {
    return ERRNO[this.errno]
  }
}

export function fail (errno: ErrnoName, reason: string, detail: string): never {
  throw new VfioError(errno, reason, detail)
}
