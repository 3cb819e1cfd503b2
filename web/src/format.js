// How the list shows a file: sizes, statuses, progress. Pure, so the node tests pin them.

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB']
const WITH_REASON = new Set(['FAILED', 'SKIPPED'])

/** A byte count in binary units, one decimal above bytes: "512 B", "1.5 GiB". */
export function formatBytes(bytes) {
  if (typeof bytes !== 'number' || !Number.isFinite(bytes) || bytes < 0) return ''
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024
    unit += 1
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${UNITS[unit]}`
}

/** The worker's percent as a whole number 0-100 (never 100 before it is done), or null. */
export function percent(progress) {
  if (typeof progress !== 'number' || !Number.isFinite(progress)) return null
  return Math.min(100, Math.max(0, Math.floor(progress)))
}

/** The status as the list says it: "UPLOADED", "RUNNING 42%", "FAILED: <reason>". */
export function statusText(file) {
  const status = typeof file?.status === 'string' && file.status ? file.status : 'UNKNOWN'
  if (status === 'RUNNING') {
    const value = percent(file.progress)
    return value === null ? 'RUNNING' : `RUNNING ${value}%`
  }
  if (WITH_REASON.has(status) && typeof file.reason === 'string' && file.reason.trim()) {
    return `${status}: ${file.reason.trim()}`
  }
  return status
}

/** A CSS-friendly tone for a status: done, failed, or in progress. */
export function statusTone(status) {
  if (status === 'SUCCEEDED') return 'done'
  if (status === 'FAILED') return 'failed'
  if (status === 'SKIPPED' || status === 'SUPERSEDED') return 'idle'
  return 'busy'
}
