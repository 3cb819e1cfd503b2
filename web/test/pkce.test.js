import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  authorizeUrl,
  base64url,
  callbackParams,
  codeChallenge,
  codeExchangeBody,
  fromBase64url,
  logoutUrl,
  randomToken,
  refreshBody,
} from '../src/pkce.js'

// RFC 7636, appendix B: the octets, the verifier they make, and its S256 challenge.
const RFC_OCTETS = [
  116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186, 22, 212, 37, 77,
  105, 214, 191, 240, 91, 88, 5, 88, 83, 132, 141, 121,
]
const RFC_VERIFIER = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'
const RFC_CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM'

const AUTH = {
  mode: 'cognito',
  domain: 'https://conveyor.auth.eu-west-1.amazoncognito.com',
  clientId: 'client123',
  redirectUri: 'https://d111.cloudfront.net/',
  scopes: ['openid', 'email', 'profile'],
}

test('the RFC 7636 octets make the RFC verifier', () => {
  assert.equal(base64url(Uint8Array.from(RFC_OCTETS)), RFC_VERIFIER)
})

test('the S256 challenge of the RFC verifier is the RFC challenge', async () => {
  assert.equal(await codeChallenge(RFC_VERIFIER), RFC_CHALLENGE)
})

test('a random verifier has 43 base64url characters and differs each time', () => {
  const a = randomToken(32)
  const b = randomToken(32)
  assert.match(a, /^[A-Za-z0-9_-]{43}$/)
  assert.notEqual(a, b)
})

test('base64url round-trips bytes that need + and / in plain base64', () => {
  const bytes = Uint8Array.from([251, 255, 191, 0, 1])
  const encoded = base64url(bytes)
  assert.doesNotMatch(encoded, /[+/=]/)
  assert.deepEqual([...fromBase64url(encoded)], [...bytes])
})

test('the authorize URL asks for a code with the S256 challenge, the state and the scopes', () => {
  const url = new URL(authorizeUrl(AUTH, { state: 'st', challenge: RFC_CHALLENGE }))
  assert.equal(url.origin + url.pathname, `${AUTH.domain}/oauth2/authorize`)
  assert.deepEqual(Object.fromEntries(url.searchParams), {
    response_type: 'code',
    client_id: 'client123',
    redirect_uri: 'https://d111.cloudfront.net/',
    scope: 'openid email profile',
    state: 'st',
    code_challenge: RFC_CHALLENGE,
    code_challenge_method: 'S256',
  })
})

test('the code exchange sends the verifier; the refresh sends the refresh token', () => {
  assert.deepEqual(Object.fromEntries(codeExchangeBody(AUTH, { code: 'c0de', verifier: 'v' })), {
    grant_type: 'authorization_code',
    client_id: 'client123',
    code: 'c0de',
    redirect_uri: 'https://d111.cloudfront.net/',
    code_verifier: 'v',
  })
  assert.deepEqual(Object.fromEntries(refreshBody(AUTH, 'r')), {
    grant_type: 'refresh_token',
    client_id: 'client123',
    refresh_token: 'r',
  })
})

test('sign-out goes to the managed logout and comes back to the page', () => {
  const url = new URL(logoutUrl(AUTH))
  assert.equal(url.pathname, '/logout')
  assert.equal(url.searchParams.get('logout_uri'), AUTH.redirectUri)
  assert.equal(url.searchParams.get('client_id'), 'client123')
})

test('the redirect back is read as a code and state, an error, or nothing', () => {
  assert.deepEqual(callbackParams('?code=abc&state=xyz'), { code: 'abc', state: 'xyz' })
  assert.deepEqual(callbackParams('?error=access_denied&error_description=User+cancelled'), {
    error: 'access_denied: User cancelled',
  })
  assert.equal(callbackParams('?code=abc'), null)
  assert.equal(callbackParams(''), null)
})
