// The page: load the configuration, sign in, then the uploader and the list of files.

import '@uppy/core/css/style.min.css'
import '@uppy/dashboard/css/style.min.css'
import './style.css'

import { createApi } from './api.js'
import { createAuth } from './auth.js'
import { loadConfig } from './config.js'
import { createFileList } from './files.js'
import { createUploader, uploading } from './upload.js'

const byId = (id) => document.getElementById(id)

/** Shows a page-level error (or clears it with null). */
function showError(err) {
  const box = byId('error')
  const message = err ? (err.message ?? String(err)) : ''
  box.textContent = message
  box.hidden = !message
}

function setBusy(button, busy) {
  button.disabled = busy
  button.setAttribute('aria-busy', String(busy))
}

async function main() {
  let config
  try {
    config = await loadConfig()
  } catch (err) {
    byId('loading').hidden = true
    showError(err)
    return
  }
  const auth = createAuth(config)
  let uploader = null
  let list = null
  let signedInAs = null

  const api = createApi({
    base: config.api,
    getToken: auth.accessToken,
    onUnauthorized: () => showSignedOut('Your session has ended: sign in again.'),
  })

  function showSignedOut(message) {
    list?.stop()
    byId('loading').hidden = true
    byId('signed-in').hidden = true
    byId('account').hidden = true
    byId('signed-out').hidden = false
    byId('sign-in').hidden = config.auth.mode !== 'local'
    byId('sign-in-hosted').hidden = config.auth.mode === 'local'
    showError(message ? new Error(message) : null)
  }

  function showSignedIn(session, { focus = false } = {}) {
    // Another user in this tab: the previous one's uploads are not theirs to watch.
    if (uploader && signedInAs !== null && signedInAs !== session.username) uploader.cancelAll()
    signedInAs = session.username
    byId('loading').hidden = true
    byId('signed-out').hidden = true
    byId('signed-in').hidden = false
    byId('account').hidden = false
    byId('signed-in-as').textContent = session.username || 'unknown user'
    showError(null)
    uploader ??= createUploader({
      target: byId('uploader'),
      errors: byId('upload-errors'),
      api,
      s3: config.s3,
      onUploaded: () => list.refresh(),
    })
    list ??= createFileList({
      api,
      table: byId('files'),
      empty: byId('files-empty'),
      onError: showError,
      onRetryError: showError,
    })
    list.start()
    if (focus) byId('upload-heading').focus()
  }

  byId('sign-in').addEventListener('submit', async (event) => {
    event.preventDefault()
    const button = byId('sign-in-button')
    setBusy(button, true)
    try {
      const username = byId('username').value.trim()
      const session = await auth.signInWithPassword(username, byId('password').value)
      byId('password').value = ''
      showSignedIn(session, { focus: true })
    } catch (err) {
      showError(err)
      byId('password').focus()
    } finally {
      setBusy(button, false)
    }
  })

  byId('sign-in-redirect').addEventListener('click', async () => {
    setBusy(byId('sign-in-redirect'), true)
    try {
      await auth.redirectToSignIn()
    } catch (err) {
      setBusy(byId('sign-in-redirect'), false)
      showError(err)
    }
  })

  byId('sign-out').addEventListener('click', () => {
    uploader?.cancelAll()
    signedInAs = null
    showSignedOut(null)
    auth.signOut()
    byId('sign-in-heading').focus()
  })

  window.addEventListener('beforeunload', (event) => {
    if (uploader && uploading(uploader)) event.preventDefault()
  })

  try {
    const session = await auth.start()
    if (session && (await auth.accessToken())) showSignedIn(session)
    else showSignedOut(null)
  } catch (err) {
    showSignedOut(err.message)
  }
}

main()
