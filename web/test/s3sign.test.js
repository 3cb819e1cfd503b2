import assert from 'node:assert/strict'
import { createHash, createHmac } from 'node:crypto'
import { test } from 'node:test'
import {
  bucketUrl,
  createSignRequest,
  credentialsUsable,
  encodeKey,
  objectUrl,
  presignUrl,
} from '../src/s3sign.js'

const LOCAL_S3 = { endpoint: 'http://127.0.0.1:5000', region: 'us-east-1', bucket: 'staging', forcePathStyle: true }
const AWS_S3 = {
  endpoint: 'https://s3.eu-west-1.amazonaws.com',
  region: 'eu-west-1',
  bucket: 'conveyor-staging',
  forcePathStyle: false,
}
const KEY = "uploads/0b5e/20261128T105512Z-4f9c2a1b/my video (1) it's+ünï.mp4"
const CREDENTIALS = {
  accessKeyId: 'ASIAEXAMPLE',
  secretAccessKey: 'secret/with+chars',
  sessionToken: 'token/+=',
  expiration: '2026-11-28T11:55:12Z',
}
const NOW = new Date('2026-11-28T10:55:12Z')
const MULTIPART = { id: '20261128T105512Z-4f9c2a1b', key: KEY, multipart: true, credentials: CREDENTIALS, partSize: 16777216 }
const SINGLE = {
  id: '20261128T105513Z-00000000',
  key: 'uploads/0b5e/20261128T105513Z-00000000/a.mp4',
  multipart: false,
  put: { url: 'http://127.0.0.1:5000/staging/uploads/a.mp4?X-Amz-Signature=abc', headers: { 'Content-Type': 'video/mp4' } },
}

/** SigV4 query signing written out from AWS's documentation, independently of aws4fetch. */
function referenceSignature(method, url, secret, region) {
  const target = new URL(url)
  const params = [...target.searchParams].filter(([k]) => k !== 'X-Amz-Signature')
  const enc = (s) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
  const query = params
    .map(([k, v]) => [enc(k), enc(v)])
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&')
  const path = target.pathname.split('/').map((s) => enc(decodeURIComponent(s))).join('/')
  const canonical = [method, path, query, `host:${target.host}`, '', 'host', 'UNSIGNED-PAYLOAD'].join('\n')
  const datetime = target.searchParams.get('X-Amz-Date')
  const scope = `${datetime.slice(0, 8)}/${region}/s3/aws4_request`
  const toSign = ['AWS4-HMAC-SHA256', datetime, scope, createHash('sha256').update(canonical).digest('hex')].join('\n')
  let key = `AWS4${secret}`
  for (const part of [datetime.slice(0, 8), region, 's3', 'aws4_request']) {
    key = createHmac('sha256', key).update(part).digest()
  }
  return createHmac('sha256', key).update(toSign).digest('hex')
}

test("AWS's documented presigned GET example signs to its documented signature", async () => {
  const url = new URL(
    await presignUrl({
      method: 'GET',
      url: 'https://examplebucket.s3.amazonaws.com/test.txt',
      credentials: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' },
      region: 'us-east-1',
      date: new Date('2013-05-24T00:00:00Z'),
      expires: 86400,
    }),
  )
  assert.equal(url.searchParams.get('X-Amz-Signature'), 'aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404')
  assert.equal(url.searchParams.get('X-Amz-SignedHeaders'), 'host')
})

test('keys are percent-encoded per segment, slashes kept', () => {
  assert.equal(encodeKey("a b/c(1)!*'+~.mp4"), 'a%20b/c%281%29%21%2A%27%2B~.mp4')
  assert.equal(encodeKey('ü/é'), '%C3%BC/%C3%A9')
})

test('path style puts the bucket in the path, virtual-hosted style in the host', () => {
  assert.equal(bucketUrl(LOCAL_S3), 'http://127.0.0.1:5000/staging')
  assert.equal(bucketUrl(AWS_S3), 'https://conveyor-staging.s3.eu-west-1.amazonaws.com')
  assert.equal(objectUrl(LOCAL_S3, 'uploads/x/a b.mp4'), 'http://127.0.0.1:5000/staging/uploads/x/a%20b.mp4')
})

test('a small file goes up with the presigned PUT and the headers the API signed', async () => {
  const sign = createSignRequest({ uploadFor: (key) => (key === SINGLE.key ? SINGLE : undefined), s3: LOCAL_S3 })
  const signed = await sign({ method: 'PUT', key: SINGLE.key, contentType: 'video/mp4' })
  assert.deepEqual(signed, { url: SINGLE.put.url, headers: { 'Content-Type': 'video/mp4' }, key: SINGLE.key })
  await assert.rejects(sign({ method: 'POST', key: SINGLE.key }), /prepared for a single PUT/)
})

test('each multipart request is presigned with the file’s own credentials', async () => {
  const sign = createSignRequest({ uploadFor: () => MULTIPART, s3: LOCAL_S3, now: () => NOW })
  const cases = [
    [{ method: 'POST', key: KEY }, { uploads: '' }],
    [{ method: 'PUT', key: KEY, uploadId: 'up-1', partNumber: 3 }, { uploadId: 'up-1', partNumber: '3' }],
    [{ method: 'GET', key: KEY, uploadId: 'up-1' }, { uploadId: 'up-1' }],
    [{ method: 'POST', key: KEY, uploadId: 'up-1' }, { uploadId: 'up-1' }],
    [{ method: 'DELETE', key: KEY, uploadId: 'up-1' }, { uploadId: 'up-1' }],
  ]
  for (const [request, query] of cases) {
    const signed = await sign(request)
    assert.equal(signed.key, KEY)
    const url = new URL(signed.url)
    assert.equal(`${url.origin}${url.pathname}`, objectUrl(LOCAL_S3, KEY))
    for (const [name, value] of Object.entries(query)) assert.equal(url.searchParams.get(name), value)
    assert.equal(url.searchParams.get('X-Amz-Credential'), 'ASIAEXAMPLE/20261128/us-east-1/s3/aws4_request')
    assert.equal(url.searchParams.get('X-Amz-Security-Token'), CREDENTIALS.sessionToken)
    assert.equal(url.searchParams.get('X-Amz-Expires'), '900')
    assert.equal(url.searchParams.get('X-Amz-Date'), '20261128T105512Z')
    assert.equal(
      url.searchParams.get('X-Amz-Signature'),
      referenceSignature(request.method, signed.url, CREDENTIALS.secretAccessKey, 'us-east-1'),
      `${request.method} ${JSON.stringify(query)}`,
    )
  }
})

test('virtual-hosted multipart URLs are signed for the bucket host and region', async () => {
  const sign = createSignRequest({ uploadFor: () => MULTIPART, s3: AWS_S3, now: () => NOW })
  const signed = await sign({ method: 'PUT', key: KEY, uploadId: 'u', partNumber: 1 })
  const url = new URL(signed.url)
  assert.equal(url.host, 'conveyor-staging.s3.eu-west-1.amazonaws.com')
  assert.match(url.searchParams.get('X-Amz-Credential'), /\/eu-west-1\/s3\/aws4_request$/)
  assert.equal(url.searchParams.get('X-Amz-Signature'), referenceSignature('PUT', signed.url, CREDENTIALS.secretAccessKey, 'eu-west-1'))
})

test('a multipart file never takes the single PUT, nor expired credentials, nor an unknown key', async () => {
  const sign = createSignRequest({ uploadFor: (key) => (key === KEY ? MULTIPART : undefined), s3: LOCAL_S3, now: () => NOW })
  await assert.rejects(sign({ method: 'PUT', key: KEY }), /multipart upload only/)
  await assert.rejects(sign({ method: 'POST', key: 'uploads/other' }), /No upload was prepared for uploads\/other/)
  const late = createSignRequest({ uploadFor: () => MULTIPART, s3: LOCAL_S3, now: () => new Date('2026-11-28T11:54:30Z') })
  await assert.rejects(late({ method: 'POST', key: KEY }), /credentials for this upload have expired/)
})

test('credentials are usable until a minute before they expire', () => {
  const expires = Date.parse(CREDENTIALS.expiration)
  assert.equal(credentialsUsable(CREDENTIALS, expires - 61_000), true)
  assert.equal(credentialsUsable(CREDENTIALS, expires - 59_000), false)
  assert.equal(credentialsUsable({ ...CREDENTIALS, expiration: undefined }, expires), true)
})

test('credentials about to expire are renewed once, for every request waiting on them', async () => {
  const upload = { ...MULTIPART, credentials: { ...CREDENTIALS } }
  const renewed = { ...CREDENTIALS, accessKeyId: 'ASIARENEWED', expiration: '2026-11-28T13:55:00Z' }
  let calls = 0
  const sign = createSignRequest({
    uploadFor: () => upload,
    s3: LOCAL_S3,
    now: () => new Date('2026-11-28T11:54:30Z'),
    renew: async (id) => {
      calls += 1
      assert.equal(id, MULTIPART.id)
      return { id, key: KEY, credentials: renewed }
    },
  })
  const parts = await Promise.all([1, 2, 3].map((n) => sign({ method: 'PUT', key: KEY, uploadId: 'u', partNumber: n })))
  assert.equal(calls, 1)
  for (const part of parts) {
    assert.match(new URL(part.url).searchParams.get('X-Amz-Credential'), /^ASIARENEWED\//)
  }
  assert.equal(upload.credentials.accessKeyId, 'ASIARENEWED')
  const wrong = createSignRequest({
    uploadFor: () => ({ ...MULTIPART }),
    s3: LOCAL_S3,
    now: () => new Date('2026-11-28T11:54:30Z'),
    renew: async (id) => ({ id, key: 'uploads/someone/else', credentials: renewed }),
  })
  await assert.rejects(wrong({ method: 'POST', key: KEY }), /another upload/)
})
