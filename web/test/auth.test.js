import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createApi, errorMessage } from '../src/api.js'
import { createAuth } from '../src/auth.js'
import { base64url, codeChallenge } from '../src/pkce.js'
import { isExpired, jwtClaims, loadSession, sessionFrom } from '../src/session.js'

const COGNITO = {
  api: 'https://api.example',
  auth: {
    mode: 'cognito',
    domain: 'https://conveyor.auth.eu-west-1.amazoncognito.com',
    clientId: 'client123',
    redirectUri: 'https://page.example/',
    scopes: ['openid'],
  },
}
const LOCAL = { api: '/api', auth: { mode: 'local' } }

function memoryStorage() {
  const data = new Map()
  return {
    getItem: (k) => (data.has(k) ? data.get(k) : null),
    setItem: (k, v) => data.set(k, String(v)),
    removeItem: (k) => data.delete(k),
  }
}

function jwt(claims) {
  const part = (o) => base64url(new TextEncoder().encode(JSON.stringify(o)))
  return `${part({ alg: 'none' })}.${part(claims)}.sig`
}

function browser(search = '') {
  const calls = []
  return {
    calls,
    storage: memoryStorage(),
    location: { search, pathname: '/', assign: (url) => calls.push(['assign', url]) },
    history: { replaceState: (_s, _t, url) => calls.push(['replace', url]) },
  }
}

const json = (status, body) => new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })

test('a token response makes a session that expires with it', () => {
  const session = sessionFrom({ access_token: jwt({ username: 'ana' }), expires_in: 3600, refresh_token: 'r' }, 1000)
  assert.equal(session.username, 'ana')
  assert.equal(session.expiresAt, 3601000)
  assert.equal(isExpired(session, 3601000 - 61_000), false)
  assert.equal(isExpired(session, 3601000 - 59_000), true)
  const refreshed = sessionFrom({ access_token: jwt({ username: 'ana' }), expires_in: 60 }, 2000, session)
  assert.equal(refreshed.refreshToken, 'r', 'a refresh answer keeps the refresh token')
  assert.throws(() => sessionFrom({}, 0), /no access token/)
  assert.equal(jwtClaims('not a jwt'), null)
})

test('local sign-in stores the session; a wrong password shows the API’s sentence', async () => {
  const env = browser()
  const fetch = async (url, init) => {
    assert.equal(url, '/api/session')
    const { username, password } = JSON.parse(init.body)
    if (password !== 'right') return json(401, { error: 'wrong user name or password' })
    return json(200, { access_token: jwt({}), id_token: 'i', refresh_token: 'r', expires_in: 3600, username })
  }
  const auth = createAuth(LOCAL, { ...env, fetch })
  await assert.rejects(auth.signInWithPassword('ana', 'wrong'), /^Error: wrong user name or password$/)
  assert.equal(loadSession(env.storage), null)
  const session = await auth.signInWithPassword('ana', 'right')
  assert.equal(session.username, 'ana')
  assert.equal(await auth.accessToken(), session.accessToken)
  auth.signOut()
  assert.equal(await auth.accessToken(), null)
  assert.deepEqual(env.calls, [], 'local sign-out goes nowhere')
})

test('Cognito sign-in: redirect with a challenge, come back, check the state, exchange the code', async () => {
  const out = browser()
  const auth = createAuth(COGNITO, { ...out, fetch: async () => assert.fail('no fetch before the redirect') })
  await auth.redirectToSignIn()
  const authorize = new URL(out.calls[0][1])
  const state = authorize.searchParams.get('state')
  const pending = JSON.parse(out.storage.getItem('conveyor.pkce'))
  assert.equal(pending.state, state)
  assert.equal(authorize.searchParams.get('code_challenge'), await codeChallenge(pending.verifier))

  const back = browser(`?code=the-code&state=${state}`)
  back.storage.setItem('conveyor.pkce', JSON.stringify(pending))
  let exchanged
  const fetch = async (url, init) => {
    exchanged = [url, Object.fromEntries(init.body)]
    return json(200, { access_token: jwt({ username: 'ana' }), id_token: 'i', refresh_token: 'r', expires_in: 3600 })
  }
  const session = await createAuth(COGNITO, { ...back, fetch }).start()
  assert.equal(session.username, 'ana')
  assert.equal(exchanged[0], `${COGNITO.auth.domain}/oauth2/token`)
  assert.equal(exchanged[1].code_verifier, pending.verifier)
  assert.equal(exchanged[1].code, 'the-code')
  assert.deepEqual(back.calls, [['replace', '/']], 'the code leaves the address bar')
  assert.equal(back.storage.getItem('conveyor.pkce'), null, 'the verifier is used once')
})

test('a redirect whose state does not match is refused, and nothing is exchanged', async () => {
  const back = browser('?code=c&state=forged')
  back.storage.setItem('conveyor.pkce', JSON.stringify({ verifier: 'v', state: 'mine' }))
  const auth = createAuth(COGNITO, { ...back, fetch: async () => assert.fail('must not exchange') })
  await assert.rejects(auth.start(), /does not match this page's request/)
  assert.equal(loadSession(back.storage), null)
})

test('an expired Cognito token is refreshed; a failed refresh signs out', async () => {
  const env = browser()
  let now = 0
  let refreshOk = true
  const fetch = async (_url, init) => {
    const body = Object.fromEntries(init.body)
    assert.equal(body.grant_type, 'refresh_token')
    if (!refreshOk) return json(400, { error: 'invalid_grant' })
    return json(200, { access_token: jwt({ username: 'ana', n: 2 }), expires_in: 3600 })
  }
  env.storage.setItem('conveyor.session', JSON.stringify(sessionFrom({ access_token: jwt({ username: 'ana' }), refresh_token: 'r', expires_in: 3600 }, 0)))
  const auth = createAuth(COGNITO, { ...env, fetch, now: () => now })
  now = 3600_000
  assert.equal(jwtClaims(await auth.accessToken()).n, 2)
  now = 3 * 3600_000
  refreshOk = false
  assert.equal(await auth.accessToken(), null)
  assert.equal(loadSession(env.storage), null)
})

test('the API client sends the bearer token and turns failures into one sentence', async () => {
  const seen = []
  let unauthorized = 0
  const answers = [json(400, { error: 'size must be at least 1 byte' }), json(401, { error: 'token expired' }), json(201, { id: 'x' })]
  const api = createApi({
    base: '/api',
    getToken: async () => 'tok',
    onUnauthorized: () => unauthorized++,
    fetchFn: async (url, init) => {
      seen.push([url, init.method, init.headers.Authorization])
      return answers.shift()
    },
  })
  await assert.rejects(api.createUpload({ name: 'a', size: 0, type: 'video/mp4' }), /size must be at least 1 byte/)
  await assert.rejects(api.listFiles(), (err) => err.status === 401 && err.message === 'token expired')
  assert.equal(unauthorized, 1)
  assert.deepEqual(await api.retryFile('20261128T105512Z-4f9c2a1b'), { id: 'x' })
  assert.deepEqual(seen.at(-1), ['/api/files/20261128T105512Z-4f9c2a1b/retry', 'POST', 'Bearer tok'])
  assert.equal(errorMessage(502, null), 'The API failed (HTTP 502); try again in a moment.')
  assert.equal(errorMessage(404, {}), 'Not found.')
})

test('without a token the API is not called and the page is told to sign in', async () => {
  let unauthorized = 0
  const api = createApi({ base: '/api', getToken: async () => null, onUnauthorized: () => unauthorized++, fetchFn: async () => assert.fail('no call') })
  await assert.rejects(api.listFiles(), /You are not signed in/)
  assert.equal(unauthorized, 1)
})
