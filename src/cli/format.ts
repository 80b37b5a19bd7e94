// Plain-text tables for humans. Scripts use --json instead.

export type Cell = string | number | boolean | null | undefined

export function cell (v: Cell): string {
  if (v === null || v === undefined) return '-'
  if (typeof v === 'boolean') return v ? 'yes' : 'no'
  return String(v)
}

/** Columns padded to their widest cell; numeric columns align right; the last column is not padded. */
export function table (headers: string[], rows: Cell[][]): string {
  const text = rows.map((r) => r.map(cell))
  const widths = headers.map((h, i) => Math.max(h.length, ...text.map((r) => (r[i] ?? '').length)))
  const numeric = headers.map((_, i) => rows.some((r) => typeof r[i] === 'number') &&
    rows.every((r) => typeof r[i] === 'number' || r[i] === null || r[i] === undefined))
  const line = (cells: string[]): string => cells.map((c, i) => {
    if (numeric[i]) return c.padStart(widths[i])
    return i === cells.length - 1 ? c : c.padEnd(widths[i])
  }).join('  ').trimEnd()
  return [line(headers), ...text.map((r) => line(r))].join('\n')
}

/** One record as aligned "key  value" lines. */
export function record (pairs: Array<[string, Cell]>): string {
  const width = Math.max(...pairs.map(([k]) => k.length))
  return pairs.map(([k, v]) => `${k.padEnd(width)}  ${cell(v)}`).join('\n')
}

/** `a 1, b 2` from the non-zero entries of a counter map; '-' when all are zero. */
export function nonZero (counts: Record<string, number>): string {
  const parts = Object.entries(counts).filter(([, n]) => n !== 0).map(([k, n]) => `${k} ${n}`)
  return parts.length === 0 ? '-' : parts.join(', ')
}

export const list = (xs: readonly string[]): string => (xs.length === 0 ? '-' : xs.join(','))
