import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, rmSync } from 'node:fs'
import { createServer, type Socket } from 'node:net'
import { join } from 'node:path'

// A guest without a guest kernel: QEMU's qtest text protocol (`outl 0xcf8 ...`, `readl ADDR`)
// over a UNIX socket, QEMU run from the Debian sid chroot that .ci/run builds.

export const QEMU_CHROOT = process.env.VIRQ_QEMU_CHROOT ?? '/var/cache/virq/sid-qemu'

export class QTest {
  private buf = ''
  private waiters: Array<(line: string) => void> = []
  stderr = ''
  private constructor (readonly proc: ChildProcess, private readonly sock: Socket) {
    sock.setEncoding('utf8')
    sock.on('error', () => {})
    sock.on('close', () => { for (const w of this.waiters.splice(0)) w('ERR closed') })
    sock.on('data', (d: string) => {
      this.buf += d
      for (let i = this.buf.indexOf('\n'); i >= 0; i = this.buf.indexOf('\n')) {
        const line = this.buf.slice(0, i)
        this.buf = this.buf.slice(i + 1)
        if (line.startsWith('IRQ')) continue // asynchronous events: not asked for
        this.waiters.shift()?.(line)
      }
    })
  }

  /** Starts QEMU in the chroot with one vfio-user-pci device on `socketInChroot`. */
  static async start (socketInChroot: string, extra: string[] = []): Promise<QTest> {
    const dir = join(QEMU_CHROOT, 'run', 'virq-qtest')
    mkdirSync(dir, { recursive: true })
    const path = join(dir, `qtest-${process.pid}-${Date.now()}.sock`)
    rmSync(path, { force: true })
    const server = createServer()
    await new Promise<void>((resolve) => server.listen(path, resolve))
    const device = JSON.stringify({ driver: 'vfio-user-pci', id: 'virq0', socket: { path: socketInChroot, type: 'unix' } })
    const proc = spawn('chroot', [QEMU_CHROOT, 'qemu-system-x86_64', '-machine', 'q35', '-accel', 'qtest', '-m', '64',
      '-qtest', `unix:${path.slice(QEMU_CHROOT.length)}`, '-display', 'none', '-nodefaults', '-device', device, ...extra], { stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    proc.stderr?.on('data', (d) => { stderr += String(d) })
    const sock = await new Promise<Socket>((resolve, reject) => {
      server.once('connection', resolve)
      proc.once('exit', (code) => reject(new Error(`qemu exited with ${code}: ${stderr}`)))
    })
    server.close()
    rmSync(path, { force: true })
    const q = new QTest(proc, sock)
    proc.stderr?.on('data', (d) => { q.stderr += String(d) })
    q.stderr = stderr
    return q
  }

  cmd (line: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`qtest: no answer to ${line}; stderr: ${this.stderr}`)), 10_000)
      this.waiters.push((answer) => {
        clearTimeout(timer)
        if (!answer.startsWith('OK')) reject(new Error(`qtest: ${line} -> ${answer}; qemu stderr: ${this.stderr}`))
        else resolve(answer)
      })
      this.sock.write(line + '\n')
    })
  }

  async read (width: 'b' | 'w' | 'l' | 'q', addr: number): Promise<number> {
    const answer = await this.cmd(`read${width} 0x${addr.toString(16)}`)
    return Number(BigInt(answer.split(' ')[1]))
  }

  async write (width: 'b' | 'w' | 'l' | 'q', addr: number, value: number): Promise<void> {
    await this.cmd(`write${width} 0x${addr.toString(16)} 0x${value.toString(16)}`)
  }

  /** PCI configuration cycle through 0xCF8/0xCFC, bus 0. */
  private async select (dev: number, offset: number): Promise<void> {
    await this.cmd(`outl 0xcf8 0x${((0x80000000 | (dev << 11) | (offset & 0xfc)) >>> 0).toString(16)}`)
  }

  async cfgRead (dev: number, offset: number, width: 1 | 2 | 4 = 4): Promise<number> {
    await this.select(dev, offset)
    const port = 0xcfc + (offset & 3)
    const op = width === 4 ? 'inl' : width === 2 ? 'inw' : 'inb'
    const answer = await this.cmd(`${op} 0x${port.toString(16)}`)
    return Number(answer.split(' ')[1])
  }

  async cfgWrite (dev: number, offset: number, value: number, width: 1 | 2 | 4 = 4): Promise<void> {
    await this.select(dev, offset)
    const port = 0xcfc + (offset & 3)
    const op = width === 4 ? 'outl' : width === 2 ? 'outw' : 'outb'
    await this.cmd(`${op} 0x${port.toString(16)} 0x${(value >>> 0).toString(16)}`)
  }

  async quit (): Promise<number | null> {
    this.sock.end()
    this.sock.destroy()
    if (this.proc.exitCode !== null) return this.proc.exitCode
    this.proc.kill('SIGTERM')
    return await new Promise((resolve) => this.proc.once('exit', (code) => resolve(code)))
  }
}
