// Signing in. Locally: a form posting the user name and password to <api>/session (moto's
// Cognito behind it). On AWS: Cognito's managed sign-in, authorization code + PKCE (S256), the
// state checked on return, the code exchanged at <domain>/oauth2/token, refreshed before expiry.

import {
  authorizeUrl,
  callbackParams,
  codeChallenge,
  codeExchangeBody,
  logoutUrl,
  randomToken,
  refreshBody,
} from './pkce.js'
import { clearSession, isExpired, loadSession, saveSession, sessionFrom } from './session.js'

const PKCE_KEY = 'conveyor.pkce'

async function errorOf(response, fallback) {
  try {
    const body = await response.json()
    if (typeof body?.error === 'string') {
      return body.error_description ? `${body.error}: ${body.error_description}` : body.error
    }
  } catch {
    // not JSON: the fallback says it
  }
  return fallback
}

/**
 * The page's sign-in, over injectable browser parts (fetch, storage, location, history) so the
 * flow reads the same in a test as in the page.
 */
export function createAuth(config, env = {}) {
  const fetchFn = env.fetch ?? globalThis.fetch.bind(globalThis)
  const storage = env.storage ?? globalThis.sessionStorage
  const location = env.location ?? globalThis.location
  const history = env.history ?? globalThis.history
  const now = env.now ?? Date.now
  const auth = config.auth
  let refreshing = null

  async function tokenRequest(body) {
    let response
    try {
      response = await fetchFn(`${auth.domain}/oauth2/token`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body,
      })
    } catch (err) {
      throw new Error(`Cannot reach the sign-in service: ${err.message}`)
    }
    if (!response.ok) {
      throw new Error(`Sign-in failed: ${await errorOf(response, `HTTP ${response.status}`)}`)
    }
    return response.json()
  }

  /** Completes a sign-in redirect if the page is one; returns the session or null. */
  async function start() {
    if (auth.mode === 'cognito') {
      const callback = callbackParams(location.search)
      if (callback) {
        history.replaceState(null, '', location.pathname)
        const pending = JSON.parse(storage.getItem(PKCE_KEY) ?? 'null')
        storage.removeItem(PKCE_KEY)
        if (callback.error) throw new Error(`Sign-in failed: ${callback.error}`)
        if (!pending || pending.state !== callback.state) {
          throw new Error('The sign-in answer does not match this page\'s request: sign in again.')
        }
        const tokens = await tokenRequest(
          codeExchangeBody(auth, { code: callback.code, verifier: pending.verifier }),
        )
        const session = sessionFrom(tokens, now())
        saveSession(session, storage)
        return session
      }
    }
    return loadSession(storage)
  }

  /** Local mode: the form's user name and password for tokens. */
  async function signInWithPassword(username, password) {
    let response
    try {
      response = await fetchFn(`${config.api}/session`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ username, password }),
      })
    } catch (err) {
      throw new Error(`Cannot reach the API: ${err.message}`)
    }
    if (!response.ok) {
      throw new Error(await errorOf(response, `Sign-in failed: HTTP ${response.status}`))
    }
    const session = sessionFrom(await response.json(), now())
    saveSession(session, storage)
    return session
  }

  /** Cognito mode: off to the managed sign-in, with a fresh verifier and state kept here. */
  async function redirectToSignIn() {
    const verifier = randomToken(32)
    const state = randomToken(16)
    storage.setItem(PKCE_KEY, JSON.stringify({ verifier, state }))
    location.assign(authorizeUrl(auth, { state, challenge: await codeChallenge(verifier) }))
  }

  async function refresh(session) {
    const tokens = await tokenRequest(refreshBody(auth, session.refreshToken))
    const fresh = sessionFrom(tokens, now(), session)
    saveSession(fresh, storage)
    return fresh
  }

  /** A valid access token, refreshed if need be (Cognito), or null: the user must sign in. */
  async function accessToken() {
    const session = loadSession(storage)
    if (!session) return null
    if (!isExpired(session, now())) return session.accessToken
    if (auth.mode !== 'cognito' || !session.refreshToken) {
      clearSession(storage)
      return null
    }
    refreshing ??= refresh(session).finally(() => {
      refreshing = null
    })
    try {
      return (await refreshing).accessToken
    } catch {
      clearSession(storage)
      return null
    }
  }

  /** Forgets the tokens; on AWS also ends the managed sign-in session. */
  function signOut() {
    clearSession(storage)
    if (auth.mode === 'cognito') location.assign(logoutUrl(auth))
  }

  return { start, signInWithPassword, redirectToSignIn, accessToken, signOut }
}
