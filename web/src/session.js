// The signed-in session: tokens kept in sessionStorage (gone when the tab closes), read back
// with their expiry. The token's claims are decoded only to show the user's name: the API and
// API Gateway verify every token themselves.

import { fromBase64url } from './pkce.js'

const KEY = 'conveyor.session'
/** Seconds before expiry at which a token counts as expired: no request should race it. */
export const EXPIRY_SKEW_SECONDS = 60

/** The claims of a JWT, unverified: for display only. null when it is not a JWT. */
export function jwtClaims(token) {
  const parts = typeof token === 'string' ? token.split('.') : []
  if (parts.length !== 3) return null
  try {
    return JSON.parse(new TextDecoder().decode(fromBase64url(parts[1])))
  } catch {
    return null
  }
}

/** The session a token response makes, `nowMs` being when it arrived. */
export function sessionFrom(tokens, nowMs, previous = null) {
  if (typeof tokens?.access_token !== 'string' || tokens.access_token === '') {
    throw new Error('The sign-in answer holds no access token.')
  }
  const claims = jwtClaims(tokens.access_token) ?? {}
  const expiresIn = Number(tokens.expires_in)
  const expiresAt = Number.isFinite(expiresIn) && expiresIn > 0
    ? nowMs + expiresIn * 1000
    : (claims.exp ?? 0) * 1000
  return {
    accessToken: tokens.access_token,
    idToken: tokens.id_token ?? previous?.idToken ?? null,
    // A refresh grant answers without a new refresh token: keep the one we had.
    refreshToken: tokens.refresh_token ?? previous?.refreshToken ?? null,
    expiresAt,
    username:
      tokens.username ??
      claims.username ??
      claims['cognito:username'] ??
      previous?.username ??
      '',
  }
}

/** True when the session's access token is expired or about to be. */
export function isExpired(session, nowMs) {
  return !session || nowMs >= session.expiresAt - EXPIRY_SKEW_SECONDS * 1000
}

export function saveSession(session, storage = globalThis.sessionStorage) {
  storage.setItem(KEY, JSON.stringify(session))
}

export function loadSession(storage = globalThis.sessionStorage) {
  try {
    const session = JSON.parse(storage.getItem(KEY) ?? 'null')
    return session && typeof session.accessToken === 'string' ? session : null
  } catch {
    return null
  }
}

export function clearSession(storage = globalThis.sessionStorage) {
  storage.removeItem(KEY)
}
