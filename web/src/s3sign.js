// Signing the browser's requests to the staging bucket, for Uppy's `signRequest`.
// A small file goes up with the presigned PUT the API made for it. A multipart upload's
// requests (create, parts, list, complete, abort) are presigned here, in the browser, with the
// temporary credentials the API issued for that one key (SigV4 query signing by aws4fetch;
// UNSIGNED-PAYLOAD, host the only signed header, as S3's presigned URLs are).

import { AwsV4Signer } from 'aws4fetch'

/** Seconds a URL signed here stays usable: only until its request starts. */
export const PRESIGN_SECONDS = 900
/** Credentials closer than this to their expiry are not used to sign. */
export const CREDENTIALS_MARGIN_SECONDS = 60

function rfc3986(text) {
  const hex = (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`
  return encodeURIComponent(text).replace(/[!'()*]/g, hex)
}

/** An object key as S3 reads it in a path: each segment percent-encoded, slashes kept. */
export function encodeKey(key) {
  return key.split('/').map(rfc3986).join('/')
}

/** The bucket's base URL: <endpoint>/<bucket> (path style) or <bucket>.<endpoint host>. */
export function bucketUrl(s3) {
  const endpoint = new URL(s3.endpoint)
  const path = endpoint.pathname.replace(/\/+$/, '')
  if (s3.forcePathStyle) return `${endpoint.origin}${path}/${rfc3986(s3.bucket)}`
  return `${endpoint.protocol}//${s3.bucket}.${endpoint.host}${path}`
}

export function objectUrl(s3, key) {
  return `${bucketUrl(s3)}/${encodeKey(key)}`
}

/** The S3 sub-resource a multipart request names in its query. */
function multipartQuery(request) {
  const query = new URLSearchParams()
  if ('partNumber' in request) query.set('partNumber', String(request.partNumber))
  if ('uploadId' in request) query.set('uploadId', request.uploadId)
  else if (request.method === 'POST') query.set('uploads', '')
  return query
}

/** SigV4 time format: 20130524T000000Z. */
export function amzDate(date) {
  return date.toISOString().replace(/[:-]|\.\d{3}/g, '')
}

/** True while the credentials can still sign a request (not within the margin of expiry). */
export function credentialsUsable(credentials, nowMs) {
  if (!credentials?.expiration) return true
  const expires = Date.parse(credentials.expiration)
  return Number.isNaN(expires) || nowMs < expires - CREDENTIALS_MARGIN_SECONDS * 1000
}

/** A presigned URL for one request (method, url with its query) under `credentials`. */
export async function presignUrl({
  method,
  url,
  credentials,
  region,
  date,
  expires = PRESIGN_SECONDS,
}) {
  const target = new URL(url)
  target.searchParams.set('X-Amz-Expires', String(expires))
  const signer = new AwsV4Signer({
    method,
    url: target.toString(),
    accessKeyId: credentials.accessKeyId,
    secretAccessKey: credentials.secretAccessKey,
    sessionToken: credentials.sessionToken,
    service: 's3',
    region,
    datetime: amzDate(date),
    signQuery: true,
  })
  return (await signer.sign()).url.toString()
}

/**
 * Uppy's `signRequest`: `uploadFor(key)` is the API's answer for the file with that key.
 * Small files: the API's presigned PUT (its signed Content-Type included). Large files: each
 * multipart request presigned with that file's own scoped credentials; credentials about to
 * expire (STS gives them an hour; a 20 GB upload can take longer) are renewed with
 * `renew(id)` (POST /uploads/{id}/credentials), once for all the requests waiting on them.
 */
export function createSignRequest({ uploadFor, s3, now = () => new Date(), renew }) {
  const renewing = new Map()

  async function freshCredentials(upload, date) {
    if (credentialsUsable(upload.credentials, date.getTime())) return upload.credentials
    if (!renew) {
      throw new Error(
        'The credentials for this upload have expired: remove the file and add it again.',
      )
    }
    if (!renewing.has(upload.id)) {
      const done = Promise.resolve(renew(upload.id))
        .then((answer) => {
          if (answer?.key !== upload.key || typeof answer?.credentials?.accessKeyId !== 'string') {
            throw new Error('The API renewed the credentials for another upload.')
          }
          upload.credentials = answer.credentials
          return answer.credentials
        })
        .finally(() => renewing.delete(upload.id))
      renewing.set(upload.id, done)
    }
    return renewing.get(upload.id)
  }

  return async (request) => {
    const upload = uploadFor(request.key)
    if (!upload) throw new Error(`No upload was prepared for ${request.key}.`)
    const isMultipart = 'uploadId' in request || request.method === 'POST'
    if (!upload.multipart) {
      if (request.method !== 'PUT' || isMultipart) {
        throw new Error('This file was prepared for a single PUT, not a multipart upload.')
      }
      return { url: upload.put.url, headers: { ...upload.put.headers }, key: upload.key }
    }
    if (!isMultipart) throw new Error('This file was prepared for a multipart upload only.')
    const date = now()
    const credentials = await freshCredentials(upload, date)
    const url = new URL(objectUrl(s3, upload.key))
    url.search = multipartQuery(request).toString()
    return {
      url: await presignUrl({
        method: request.method,
        url: url.toString(),
        credentials,
        region: s3.region,
        date,
      }),
      key: upload.key,
    }
  }
}
