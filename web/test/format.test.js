import assert from 'node:assert/strict'
import { test } from 'node:test'
import { formatBytes, percent, statusText, statusTone } from '../src/format.js'

test('statuses read as the list shows them', () => {
  assert.equal(statusText({ status: 'UPLOADED' }), 'UPLOADED')
  assert.equal(statusText({ status: 'SUBMITTED', progress: null }), 'SUBMITTED')
  assert.equal(statusText({ status: 'RUNNING', progress: 42.7 }), 'RUNNING 42%')
  assert.equal(statusText({ status: 'RUNNING', progress: null }), 'RUNNING')
  assert.equal(statusText({ status: 'SUCCEEDED', progress: 100, reason: null }), 'SUCCEEDED')
  assert.equal(
    statusText({ status: 'FAILED', reason: 'ffmpeg exited 1: invalid data' }),
    'FAILED: ffmpeg exited 1: invalid data',
  )
  assert.equal(statusText({ status: 'FAILED', reason: null }), 'FAILED')
  assert.equal(statusText({ status: 'SKIPPED', reason: 'no route' }), 'SKIPPED: no route')
  assert.equal(statusText({ status: 'SUPERSEDED', reason: 'newer version' }), 'SUPERSEDED')
  assert.equal(statusText({}), 'UNKNOWN')
})

test('the percent is whole, clamped, and never 100 before it is', () => {
  assert.equal(percent(99.9), 99)
  assert.equal(percent(0), 0)
  assert.equal(percent(-3), 0)
  assert.equal(percent(180), 100)
  assert.equal(percent(null), null)
  assert.equal(percent(Number.NaN), null)
  assert.equal(percent('42'), null)
})

test('sizes read in binary units', () => {
  assert.equal(formatBytes(0), '0 B')
  assert.equal(formatBytes(1023), '1023 B')
  assert.equal(formatBytes(1024), '1.0 KiB')
  assert.equal(formatBytes(1.5 * 1024 ** 3), '1.5 GiB')
  assert.equal(formatBytes(5 * 1024 ** 4), '5.0 TiB')
  assert.equal(formatBytes(null), '')
  assert.equal(formatBytes(-1), '')
})

test('tones follow the status', () => {
  assert.equal(statusTone('SUCCEEDED'), 'done')
  assert.equal(statusTone('FAILED'), 'failed')
  assert.equal(statusTone('RUNNING'), 'busy')
  assert.equal(statusTone('UPLOADED'), 'busy')
  assert.equal(statusTone('SKIPPED'), 'idle')
})
