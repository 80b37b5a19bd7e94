import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { packagePath } from '../paths.ts'

// The native addon (native/vfio_user_io.cc, built by `npm ci` through binding.gyp): the socket
// calls Node's `net` cannot make, because vfio-user passes eventfds as SCM_RIGHTS. It is loaded
// only when a device is first served over vfio-user, so virq starts and serves HTTP without it.

export interface NativeIo {
  /** A non-blocking listening UNIX socket at `path`; returns its fd. */
  listen: (path: string) => number
  /** A waiting client's fd, or -1. */
  accept: (fd: number) => number
  /** [n, ...fds]: n bytes read (-1 nothing there, 0 end of stream, -2 fds truncated) and the fds that came with them. */
  recv: (fd: number, buf: Buffer, offset: number, length: number) => number[]
  send: (fd: number, buf: Buffer, length: number) => number
  close: (fd: number) => number
  /** write(2) of the 8-byte value n (an eventfd signal); 0 or -errno. */
  signal: (fd: number, n: number) => number
  poll: (fd: number, cb: (status: number, readable: boolean, hangup: boolean) => void) => object
  stopPoll: (handle: object) => void
}

let loaded: NativeIo | Error | undefined

/** The addon, or the error that says why it is missing (loaded once, on first use). */
export function nativeIo (): NativeIo | Error {
  if (loaded !== undefined) return loaded
  // VIRQ_VFIO_USER_ADDON points elsewhere (tests use it to show the service without the addon).
  const file = process.env.VIRQ_VFIO_USER_ADDON ?? packagePath('build/Release/vfio_user_io.node')
  try {
    if (!existsSync(file)) throw new Error(`${file} is missing: run \`npm ci\` (or \`npx node-gyp rebuild\`) with a C++ compiler and Node's headers`)
    loaded = createRequire(import.meta.url)(file) as NativeIo
  } catch (err) {
    loaded = err instanceof Error ? err : new Error(String(err))
  }
  return loaded
}
