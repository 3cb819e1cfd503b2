// The uploader's wiring, end to end in Node: Uppy core and its AwsS3 plugin as the page runs
// them (no Dashboard: it needs a DOM), the API and S3 faked at their edges (XMLHttpRequest).

import assert from 'node:assert/strict'
import { afterEach, beforeEach, test } from 'node:test'
import Uppy from '@uppy/core'
import { ApiError } from '../src/api.js'
import { objectUrl } from '../src/s3sign.js'
import { checkAnswer, installUpload, partSizeFor, uploadRequest } from '../src/upload.js'

const MiB = 1024 * 1024
const S3 = { endpoint: 'http://127.0.0.1:5000', region: 'us-east-1', bucket: 'staging', forcePathStyle: true }
const CREDENTIALS = {
  accessKeyId: 'ASIAEXAMPLE',
  secretAccessKey: 'secret',
  sessionToken: 'session-token',
  expiration: new Date(Date.now() + 3600_000).toISOString(),
}

/** A stand-in S3: answers the requests Uppy sends and records them. */
function fakeS3({ failPart } = {}) {
  const requests = []
  const handle = ({ method, url, headers, body }) => {
    const target = new URL(url)
    const q = target.searchParams
    requests.push({ method, url: target, headers, size: body?.size ?? (typeof body === 'string' ? body.length : 0), body })
    if (method === 'POST' && q.has('uploads')) {
      return { status: 200, body: '<InitiateMultipartUploadResult><UploadId>up-1</UploadId></InitiateMultipartUploadResult>' }
    }
    if (method === 'PUT' && q.has('partNumber')) {
      const part = Number(q.get('partNumber'))
      if (failPart?.(part)) return { status: 403, body: '' }
      return { status: 200, headers: { etag: `"etag-${part}"` } }
    }
    if (method === 'GET' && q.has('uploadId')) {
      const parts = requests
        .filter((r) => r.method === 'PUT' && r.url.searchParams.has('partNumber') && !failPart?.(Number(r.url.searchParams.get('partNumber'))))
        .map((r) => `<Part><PartNumber>${r.url.searchParams.get('partNumber')}</PartNumber><ETag>"etag-${r.url.searchParams.get('partNumber')}"</ETag></Part>`)
      return { status: 200, body: `<ListPartsResult>${parts.join('')}</ListPartsResult>` }
    }
    if (method === 'POST' && q.has('uploadId')) {
      const key = decodeURIComponent(target.pathname.replace('/staging/', ''))
      return {
        status: 200,
        body: `<CompleteMultipartUploadResult><Location>${target.origin}${target.pathname}</Location><Bucket>staging</Bucket><Key>${key}</Key><ETag>"x-3"</ETag></CompleteMultipartUploadResult>`,
      }
    }
    if (method === 'PUT') return { status: 200, headers: { etag: '"single"' } }
    return { status: 400, body: '' }
  }
  return { requests, handle }
}

class FakeXHR {
  static s3 = null
  upload = {}
  status = 0
  statusText = ''
  responseText = ''
  #headers = {}
  #response = {}
  open(method, url) {
    this.method = method
    this.url = url
  }
  setRequestHeader(name, value) {
    this.#headers[name] = value
  }
  getResponseHeader(name) {
    return this.#response[name.toLowerCase()] ?? null
  }
  abort() {}
  send(body) {
    setTimeout(() => {
      const answer = FakeXHR.s3.handle({ method: this.method, url: this.url, headers: { ...this.#headers }, body })
      this.status = answer.status
      this.responseText = answer.body ?? ''
      this.#response = answer.headers ?? {}
      const size = body?.size ?? 0
      this.upload.onprogress?.({ lengthComputable: true, loaded: size, total: size })
      this.onload()
    }, 1)
  }
}

/** A stand-in API: POST /uploads answers as the contract says, refusing text files. */
function fakeApi() {
  const calls = []
  let n = 0
  return {
    calls,
    async createUpload(request) {
      calls.push(request)
      if (request.type === 'text/plain') {
        throw new ApiError('type text/plain is not allowed: use video/*, audio/*, image/*, application/octet-stream or application/mxf', 400)
      }
      n += 1
      const id = `20261128T10551${n}Z-0000000${n}`
      const key = `uploads/sub-1/${id}/${request.name}`
      if (request.size <= 8 * MiB) {
        return { id, key, bucket: 'staging', region: 'us-east-1', multipart: false, put: { url: `${objectUrl(S3, key)}?X-Amz-Signature=server`, headers: { 'Content-Type': request.type } } }
      }
      return { id, key, bucket: 'staging', region: 'us-east-1', multipart: true, credentials: CREDENTIALS, partSize: 5 * MiB }
    },
  }
}

const made = []

function newUppy(api, uploaded = []) {
  // infoTimeout 0: no informer timer keeps the test process alive.
  const uppy = new Uppy({ id: 'test', infoTimeout: 0 })
  made.push(uppy)
  return installUpload(uppy, { api, s3: S3, onUploaded: (file) => uploaded.push(file.name) })
}

const blob = (size, type) => new Blob([new Uint8Array(size)], { type })

beforeEach(() => {
  globalThis.XMLHttpRequest = FakeXHR
})
afterEach(() => {
  delete globalThis.XMLHttpRequest
  for (const uppy of made.splice(0)) uppy.destroy()
})

test('small files PUT to the API’s URL, large ones go multipart, refused ones not at all', async () => {
  FakeXHR.s3 = fakeS3()
  const api = fakeApi()
  const uploaded = []
  const uppy = newUppy(api, uploaded)
  uppy.addFile({ name: 'small.mp4', type: 'video/mp4', data: blob(1000, 'video/mp4') })
  uppy.addFile({ name: 'big.mov', type: 'video/quicktime', data: blob(11 * MiB, 'video/quicktime') })
  uppy.addFile({ name: 'notes.txt', type: 'text/plain', data: blob(10, 'text/plain') })

  const result = await uppy.upload()

  assert.deepEqual(
    api.calls.map((c) => c.name).sort(),
    ['big.mov', 'notes.txt', 'small.mp4'],
  )
  assert.deepEqual(api.calls.find((c) => c.name === 'small.mp4'), { name: 'small.mp4', size: 1000, type: 'video/mp4' })
  assert.deepEqual(result.successful.map((f) => f.name).sort(), ['big.mov', 'small.mp4'])
  assert.deepEqual(uploaded.sort(), ['big.mov', 'small.mp4'])

  const refused = result.failed.map((f) => [f.name, f.error])
  assert.equal(refused.length, 1)
  assert.equal(refused[0][0], 'notes.txt')
  assert.match(refused[0][1], /type text\/plain is not allowed/)

  const { requests } = FakeXHR.s3
  assert.ok(requests.every((r) => !r.url.pathname.includes('notes')), 'a refused file sends nothing to S3')

  const small = requests.filter((r) => r.url.pathname.endsWith('/small.mp4'))
  assert.equal(small.length, 1)
  assert.equal(small[0].method, 'PUT')
  assert.equal(small[0].url.searchParams.get('X-Amz-Signature'), 'server')
  assert.equal(small[0].headers['Content-Type'], 'video/mp4')
  assert.equal(small[0].size, 1000)

  const big = requests.filter((r) => r.url.pathname.endsWith('/big.mov'))
  assert.deepEqual(
    big.map((r) => `${r.method} ${[...r.url.searchParams.keys()].filter((k) => !k.startsWith('X-Amz')).join(',')}`),
    ['POST uploads', 'PUT partNumber,uploadId', 'PUT partNumber,uploadId', 'PUT partNumber,uploadId', 'POST uploadId'],
  )
  assert.ok(big.every((r) => r.url.searchParams.get('X-Amz-Security-Token') === 'session-token'))
  assert.ok(big.every((r) => r.url.pathname.startsWith('/staging/uploads/sub-1/')))
  assert.deepEqual(big.slice(1, 4).map((r) => r.size), [5 * MiB, 5 * MiB, 1 * MiB])
  const completion = big.at(-1).body
  for (const part of [1, 2, 3]) assert.match(completion, new RegExp(`<PartNumber>${part}</PartNumber><ETag>etag-${part}</ETag>`))

  const keys = uppy.getFiles().filter((f) => f.meta.key).map((f) => f.meta.key)
  assert.ok(keys.every((key) => key.startsWith('uploads/sub-1/')), 'keys are the API’s')
})

test('a retry resumes the same multipart upload under the same key, without asking the API again', async () => {
  let failing = true
  FakeXHR.s3 = fakeS3({ failPart: (part) => failing && part === 2 })
  const api = fakeApi()
  const uppy = newUppy(api)
  const id = uppy.addFile({ name: 'big.mov', type: 'video/quicktime', data: blob(11 * MiB, 'video/quicktime') })

  const first = await uppy.upload()
  assert.equal(first.failed.length, 1)
  const key = uppy.getFile(id).meta.key

  failing = false
  const second = await uppy.retryUpload(id)
  assert.equal(second.successful.length, 1)
  assert.equal(api.calls.length, 1)
  assert.equal(uppy.getFile(id).meta.key, key)

  const { requests } = FakeXHR.s3
  const creates = requests.filter((r) => r.method === 'POST' && r.url.searchParams.has('uploads'))
  assert.equal(creates.length, 1, 'one multipart upload, resumed')
  assert.ok(requests.some((r) => r.method === 'GET' && r.url.searchParams.get('uploadId') === 'up-1'), 'lists the parts to resume')
  const partOne = requests.filter((r) => r.method === 'PUT' && r.url.searchParams.get('partNumber') === '1')
  assert.equal(partOne.length, 1, 'part 1 is not sent again')
})

test('the request names the file, its size and its type (S3’s default when unknown)', () => {
  assert.deepEqual(uploadRequest({ name: 'a.mxf', size: 5, type: '' }), { name: 'a.mxf', size: 5, type: 'application/octet-stream' })
  assert.deepEqual(uploadRequest({ name: 'b.wav', size: 7, type: 'audio/wav' }), { name: 'b.wav', size: 7, type: 'audio/wav' })
})

test('an answer without what the upload needs is refused', () => {
  assert.throws(() => checkAnswer({ id: 'x', key: 'k', multipart: false }), /without what the upload needs/)
  assert.throws(() => checkAnswer({ id: 'x', key: 'k', multipart: true, credentials: CREDENTIALS }), /without/)
  assert.throws(() => checkAnswer(null), /without/)
  const ok = { id: 'x', key: 'k', multipart: true, credentials: CREDENTIALS, partSize: 5 * MiB }
  assert.equal(checkAnswer(ok), ok)
})

test('the part size is the API’s for a file of that size', () => {
  const files = [{ size: 100, meta: { conveyor: { multipart: true, partSize: 6 * MiB } } }]
  assert.equal(partSizeFor(files, 100), 6 * MiB)
  assert.equal(partSizeFor(files, 101), 16 * MiB)
})
