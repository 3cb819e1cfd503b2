// The user's files, newest first, with live status: GET /files every few seconds while the tab
// is visible. Rows are kept by file id and updated in place (textContent only, never HTML), so
// a screen reader hears only what changed and a focused Retry button keeps its focus.

import { formatBytes, percent, statusText, statusTone } from './format.js'

export const POLL_MS = 3000

function cell(row, className, label) {
  const td = document.createElement('td')
  td.className = className
  td.dataset.label = label
  row.append(td)
  return td
}

function setText(node, text) {
  if (node.textContent !== text) node.textContent = text
}

function buildRow(file) {
  const row = document.createElement('tr')
  row.dataset.fileId = file.id
  const name = cell(row, 'name', 'Name')
  const title = document.createElement('span')
  title.className = 'file-name'
  const when = document.createElement('time')
  when.className = 'uploaded-at'
  name.append(title, when)
  cell(row, 'size', 'Size')
  const status = cell(row, 'status progress', 'Status')
  const text = document.createElement('span')
  text.className = 'status-text'
  const bar = document.createElement('progress')
  bar.max = 100
  bar.hidden = true
  status.append(text, bar)
  cell(row, 'output', 'Output')
  cell(row, 'actions', 'Actions')
  return row
}

function renderOutput(td, file) {
  const output = file.output
  if (!output || typeof output.url !== 'string') {
    if (td.childElementCount || td.textContent) td.replaceChildren()
    return
  }
  let link = td.querySelector('a.download')
  if (!link) {
    const size = document.createElement('span')
    size.className = 'output-size'
    link = document.createElement('a')
    link.className = 'download'
    link.rel = 'noopener'
    link.textContent = 'Download'
    td.replaceChildren(size, ' ', link)
  }
  setText(td.querySelector('.output-size'), formatBytes(output.size))
  link.setAttribute('aria-label', `Download the output of ${file.name}`)
  // A fresh presigned URL each poll: the previous one lasts only minutes.
  if (link.href !== output.url) link.href = output.url
}

function renderActions(td, file, onRetry) {
  let button = td.querySelector('button.retry')
  if (!file.can_retry) {
    button?.remove()
    return
  }
  if (!button) {
    button = document.createElement('button')
    button.type = 'button'
    button.className = 'retry'
    button.textContent = 'Retry'
    button.addEventListener('click', () => onRetry(td.closest('tr').dataset.fileId, button))
    td.append(button)
  }
  button.setAttribute('aria-label', `Retry ${file.name}`)
}

function updateRow(row, file, onRetry) {
  row.dataset.status = file.status
  row.dataset.tone = statusTone(file.status)
  const name = row.querySelector('.file-name')
  setText(name, file.name)
  name.title = file.key ?? ''
  const when = row.querySelector('.uploaded-at')
  if (file.uploaded_at && when.dateTime !== file.uploaded_at) {
    when.dateTime = file.uploaded_at
    const date = new Date(file.uploaded_at)
    when.textContent = Number.isNaN(date.getTime()) ? '' : date.toLocaleString()
  }
  setText(row.querySelector('td.size'), formatBytes(file.size))
  setText(row.querySelector('.status-text'), statusText(file))
  const bar = row.querySelector('progress')
  const value = file.status === 'RUNNING' ? percent(file.progress) : null
  bar.hidden = value === null
  if (value !== null) {
    bar.value = value
    bar.setAttribute('aria-label', `${file.name}: ${value}% transformed`)
  }
  renderOutput(row.querySelector('td.output'), file)
  renderActions(row.querySelector('td.actions'), file, onRetry)
}

/**
 * Renders `files` (newest first, as the API sends them) into the table's body, reusing the row
 * of each file id already shown.
 */
export function renderFiles(table, files, onRetry) {
  const body = table.tBodies[0]
  const existing = new Map([...body.rows].map((row) => [row.dataset.fileId, row]))
  const rows = files.map((file) => {
    const row = existing.get(file.id) ?? buildRow(file)
    existing.delete(file.id)
    updateRow(row, file, onRetry)
    return row
  })
  for (const stale of existing.values()) stale.remove()
  rows.forEach((row, index) => {
    if (body.rows[index] !== row) body.insertBefore(row, body.rows[index] ?? null)
  })
}

/**
 * Keeps the list fresh: every POLL_MS while the page is visible, at once when it becomes
 * visible again or when `refresh()` is called (after an upload or a retry).
 */
export function createFileList({ api, table, empty, onError, onRetryError }) {
  let timer = null
  let running = false
  let inFlight = null
  let again = false

  async function retry(id, button) {
    button.disabled = true
    try {
      await api.retryFile(id)
      onError(null)
    } catch (err) {
      onRetryError(err)
    } finally {
      button.disabled = false
      refresh()
    }
  }

  async function load() {
    try {
      const { files } = await api.listFiles()
      renderFiles(table, Array.isArray(files) ? files : [], retry)
      empty.hidden = table.tBodies[0].rows.length > 0
      table.hidden = !empty.hidden
      onError(null)
    } catch (err) {
      // Stopped meanwhile (signed out): the sign-in screen says what to do.
      if (running) onError(err)
    }
  }

  function schedule() {
    clearTimeout(timer)
    if (running && document.visibilityState !== 'hidden') timer = setTimeout(refresh, POLL_MS)
  }

  /** Loads the list now (or again right after a load under way) and schedules the next. */
  function refresh() {
    if (!running) return Promise.resolve()
    if (inFlight) {
      again = true
      return inFlight
    }
    clearTimeout(timer)
    inFlight = load().finally(() => {
      inFlight = null
      if (again) {
        again = false
        refresh()
      } else {
        schedule()
      }
    })
    return inFlight
  }

  function onVisibility() {
    if (document.visibilityState === 'visible') refresh()
    else clearTimeout(timer)
  }

  return {
    start() {
      if (running) return
      running = true
      document.addEventListener('visibilitychange', onVisibility)
      refresh()
    },
    stop() {
      running = false
      clearTimeout(timer)
      document.removeEventListener('visibilitychange', onVisibility)
      table.tBodies[0].replaceChildren()
    },
    refresh,
  }
}
