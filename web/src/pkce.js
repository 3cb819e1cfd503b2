// OAuth 2.0 authorization code + PKCE (RFC 7636, S256) for Cognito's managed sign-in: pure
// functions over Web Crypto, so the node tests check them against the RFC's own vectors.

const encoder = new TextEncoder()

/** base64url without padding (RFC 4648 section 5), as PKCE and JWTs use it. */
export function base64url(bytes) {
  let binary = ''
  for (const byte of bytes) binary += String.fromCharCode(byte)
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

/** Decodes base64url (padding optional) to bytes. */
export function fromBase64url(text) {
  const base64 = text.replace(/-/g, '+').replace(/_/g, '/')
  const padded = base64.padEnd(Math.ceil(base64.length / 4) * 4, '=')
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0))
}

/** A fresh random string of `bytes` random octets, base64url: the verifier, or a state value. */
export function randomToken(bytes = 32, cryptoImpl = globalThis.crypto) {
  return base64url(cryptoImpl.getRandomValues(new Uint8Array(bytes)))
}

/** The S256 code challenge of a verifier: base64url(SHA-256(ASCII(verifier))). */
export async function codeChallenge(verifier, subtle = globalThis.crypto.subtle) {
  return base64url(new Uint8Array(await subtle.digest('SHA-256', encoder.encode(verifier))))
}

/** Where to send the browser to sign in: Cognito's /oauth2/authorize with the challenge. */
export function authorizeUrl(auth, { state, challenge }) {
  const url = new URL(`${auth.domain}/oauth2/authorize`)
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: auth.clientId,
    redirect_uri: auth.redirectUri,
    scope: auth.scopes.join(' '),
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  }).toString()
  return url.toString()
}

/** The form body exchanging the returned code (and the verifier) for tokens. */
export function codeExchangeBody(auth, { code, verifier }) {
  return new URLSearchParams({
    grant_type: 'authorization_code',
    client_id: auth.clientId,
    code,
    redirect_uri: auth.redirectUri,
    code_verifier: verifier,
  })
}

/** The form body trading a refresh token for fresh access and id tokens. */
export function refreshBody(auth, refreshToken) {
  return new URLSearchParams({
    grant_type: 'refresh_token',
    client_id: auth.clientId,
    refresh_token: refreshToken,
  })
}

/** Cognito's sign-out: ends the managed session too, then comes back to the page. */
export function logoutUrl(auth) {
  const url = new URL(`${auth.domain}/logout`)
  url.search = new URLSearchParams({
    client_id: auth.clientId,
    logout_uri: auth.redirectUri,
  }).toString()
  return url.toString()
}

/**
 * What the sign-in redirect brought back in the page's query: {code, state}, {error}, or null
 * when the page was not opened by a redirect.
 */
export function callbackParams(search) {
  const params = new URLSearchParams(search)
  if (params.has('error')) {
    const description = params.get('error_description')
    return { error: description ? `${params.get('error')}: ${description}` : params.get('error') }
  }
  if (params.has('code') && params.has('state')) {
    return { code: params.get('code'), state: params.get('state') }
  }
  return null
}
