import { HttpProblem } from './problem.ts'

// Cursors are opaque to clients: a base64url position in creation order.

export function encodeCursor (position: number): string {
  return Buffer.from(`p${position}`).toString('base64url')
}

export function decodeCursor (cursor: string | undefined): number {
  if (cursor === undefined) return 0
  const m = /^p([0-9]{1,15})$/.exec(Buffer.from(cursor, 'base64url').toString())
  if (m === null) throw new HttpProblem(400, 'invalid-cursor', 'cursor is not one this service issued')
  return Number(m[1])
}
