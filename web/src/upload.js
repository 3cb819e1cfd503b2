// The uploader: Uppy's Dashboard (inline: per-file progress, pause/resume, retry) and its AwsS3
// plugin, straight from the browser to the staging bucket; nothing goes through the API.
//
// Design. Before a file uploads, a pre-processor asks the API (POST /uploads) where it goes; the
// answer stays in the file's meta (`key`, `conveyor`). The API decides everything: the key
// (`generateObjectKey` returns it), single PUT or multipart, the part size. One AwsS3 instance
// must serve both kinds, so it runs in `signRequest` mode (s3sign.js): a small file's PUT gets
// the API's presigned URL (which signs its Content-Type); a large file's multipart requests are
// presigned here with the scoped temporary credentials the API issued for that one key. AwsS3's
// own `getCredentials` mode cannot do this: it caches one set of credentials for every file,
// while each file has its own, valid for its own key only.
//
// Uppy 6.3 uploads the parts of one file one after another and several files at once (`limit`);
// parts of one file in parallel are upstream work in progress (transloadit/uppy#6547).

import AwsS3 from '@uppy/aws-s3'
import Uppy from '@uppy/core'
import Dashboard from '@uppy/dashboard'
import { createSignRequest } from './s3sign.js'

const MiB = 1024 * 1024
/** The API's default part size, used only if no answer for a file of this size is at hand. */
export const DEFAULT_PART_SIZE = 16 * MiB
/** Files uploading at once: the browser opens at most 6 connections to one host anyway. */
export const CONCURRENT_FILES = 6

/** What POST /uploads is told about a file: name, size and a type (S3's default if unknown). */
export function uploadRequest(file) {
  return {
    name: file.name,
    size: file.size,
    type: file.type || 'application/octet-stream',
  }
}

/** The API's answer, checked for what the upload needs; an Error if it lacks any of it. */
export function checkAnswer(answer) {
  const ok =
    answer &&
    typeof answer.id === 'string' &&
    typeof answer.key === 'string' &&
    answer.key !== '' &&
    (answer.multipart === true
      ? typeof answer.credentials?.accessKeyId === 'string' &&
        typeof answer.credentials?.secretAccessKey === 'string' &&
        Number.isInteger(answer.partSize)
      : answer.multipart === false && typeof answer.put?.url === 'string')
  if (!ok) throw new Error('The API answered POST /uploads without what the upload needs.')
  return answer
}

/** The part size for a file of `size` bytes: the API's for such a file. */
export function partSizeFor(files, size) {
  const match = files.find((f) => f.size === size && f.meta.conveyor?.multipart)
  return match?.meta.conveyor.partSize ?? DEFAULT_PART_SIZE
}

/**
 * The Uppy instance in `target`, with the Dashboard. `onUploaded(file)` runs when a file is in
 * staging; `api` is api.js's client and `s3` the config's bucket.
 */
export function createUploader({ target, errors, api, s3, onUploaded }) {
  const uppy = new Uppy({ id: 'conveyor', autoProceed: true })
  uppy.use(Dashboard, {
    inline: true,
    target,
    width: '100%',
    height: 380,
    theme: 'auto',
    proudlyDisplayPoweredByUppy: false,
    disableThumbnailGenerator: true,
    showLinkToFileUploadResult: false,
    fileManagerSelectionType: 'files',
    note: 'Videos, audio, images, MXF or other binary files, up to 5 TiB each.',
  })
  showErrors(uppy, errors)
  return installUpload(uppy, { api, s3, onUploaded })
}

/**
 * Lists each failed file's reason under the Dashboard, in words (the Dashboard itself shows it
 * only in a tooltip); the line goes when the file is retried, succeeds or is removed.
 */
function showErrors(uppy, list) {
  const lines = new Map()
  const drop = (file) => {
    lines.get(file?.id)?.remove()
    lines.delete(file?.id)
  }
  uppy.on('upload-error', (file, error) => {
    if (!file) return
    drop(file)
    const line = document.createElement('li')
    line.dataset.fileId = file.id
    line.textContent = `${file.name}: ${error?.message ?? 'the upload failed'}`
    lines.set(file.id, line)
    list.append(line)
  })
  uppy.on('upload-retry', drop)
  uppy.on('retry-all', (files) => files.forEach(drop))
  uppy.on('upload-success', drop)
  uppy.on('file-removed', drop)
}

/** Teaches `uppy` to upload the Conveyor way: the API's key and signing, S3 from the browser. */
export function installUpload(uppy, { api, s3, onUploaded }) {
  const uploadFor = (key) => uppy.getFiles().find((f) => f.meta.key === key)?.meta.conveyor

  uppy.use(AwsS3, {
    limit: CONCURRENT_FILES,
    signRequest: createSignRequest({ uploadFor, s3, renew: (id) => api.renewCredentials(id) }),
    shouldUseMultipart: (file) => file.meta.conveyor?.multipart === true,
    getChunkSize: ({ size }) => partSizeFor(uppy.getFiles(), size),
    generateObjectKey: (file) => file.meta.key,
    // Nothing of the meta (it holds the credentials) is sent anywhere.
    allowedMetaFields: false,
  })

  async function prepare(id) {
    const file = uppy.getFile(id)
    // Prepared already: a retry or resume keeps its key and its multipart upload.
    if (!file || file.meta.conveyor) return
    uppy.emit('preprocess-progress', file, { mode: 'indeterminate', message: 'Preparing…' })
    try {
      const answer = checkAnswer(await api.createUpload(uploadRequest(file)))
      uppy.setFileMeta(id, { key: answer.key, conveyor: answer })
    } catch (err) {
      // The API's reason (e.g. a type it refuses) shows on the file, which is not uploaded.
      if (uppy.getFile(id)) uppy.emit('upload-error', uppy.getFile(id), err)
    } finally {
      if (uppy.getFile(id)) uppy.emit('preprocess-complete', uppy.getFile(id))
    }
  }

  uppy.addPreProcessor(async (fileIDs) => {
    await Promise.all(fileIDs.map((id) => prepare(id)))
  })
  uppy.on('upload-success', (file) => onUploaded?.(file))
  return uppy
}

/** True while any file is still on its way (the page then asks before it is closed). */
export function uploading(uppy) {
  return uppy
    .getFiles()
    .some((f) => f.progress.uploadStarted && !f.progress.uploadComplete && !f.error)
}
