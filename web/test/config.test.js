import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ConfigError, loadConfig, parseConfig } from '../src/config.js'

const LOCAL = {
  api: '/api',
  auth: { mode: 'local' },
  s3: { endpoint: 'http://127.0.0.1:5000', region: 'us-east-1', bucket: 'staging', forcePathStyle: true },
}

const COGNITO = {
  api: 'https://abc.execute-api.eu-west-1.amazonaws.com/',
  auth: {
    mode: 'cognito',
    domain: 'https://conveyor.auth.eu-west-1.amazoncognito.com/',
    clientId: 'client123',
    redirectUri: 'https://d111.cloudfront.net/',
    scopes: ['openid', 'email', 'profile'],
  },
  s3: {
    endpoint: 'https://s3.eu-west-1.amazonaws.com',
    region: 'eu-west-1',
    bucket: 'conveyor-staging',
    forcePathStyle: false,
  },
}

test('the local configuration parses as it is', () => {
  assert.deepEqual(parseConfig(LOCAL), LOCAL)
})

test('the AWS configuration parses, trailing slashes dropped but the redirect URI’s', () => {
  const config = parseConfig(COGNITO)
  assert.equal(config.api, 'https://abc.execute-api.eu-west-1.amazonaws.com')
  assert.equal(config.auth.domain, 'https://conveyor.auth.eu-west-1.amazoncognito.com')
  assert.equal(config.auth.redirectUri, 'https://d111.cloudfront.net/')
  assert.deepEqual(config.auth.scopes, ['openid', 'email', 'profile'])
  assert.equal(config.s3.forcePathStyle, false)
})

test('scopes default to openid, email, profile', () => {
  const { scopes: _omit, ...auth } = COGNITO.auth
  assert.deepEqual(parseConfig({ ...COGNITO, auth }).auth.scopes, ['openid', 'email', 'profile'])
})

test('each wrong field is named in one sentence', () => {
  const cases = [
    [null, /must be a JSON object/],
    [[], /must be a JSON object/],
    [{ ...LOCAL, api: '' }, /api must be a non-empty string/],
    [{ ...LOCAL, api: 'api.example.com' }, /api must be an absolute URL/],
    [{ ...LOCAL, auth: { mode: 'saml' } }, /auth.mode must be "local" or "cognito"/],
    [{ ...COGNITO, auth: { ...COGNITO.auth, domain: 'http://x.example' } }, /auth.domain must start with https:/],
    [{ ...COGNITO, auth: { ...COGNITO.auth, clientId: '' } }, /auth.clientId must be a non-empty string/],
    [{ ...COGNITO, auth: { ...COGNITO.auth, scopes: [] } }, /auth.scopes must be a non-empty list/],
    [{ ...LOCAL, s3: { ...LOCAL.s3, endpoint: 'ftp://x' } }, /s3.endpoint must start with/],
    [{ ...LOCAL, s3: { ...LOCAL.s3, bucket: 3 } }, /s3.bucket must be a non-empty string/],
    [{ ...LOCAL, s3: { ...LOCAL.s3, forcePathStyle: 'yes' } }, /s3.forcePathStyle must be true or false/],
    [{ ...LOCAL, s3: undefined }, /s3 must be an object/],
  ]
  for (const [raw, message] of cases) {
    assert.throws(() => parseConfig(raw), (err) => err instanceof ConfigError && message.test(err.message))
  }
})

test('loading reports an HTTP failure and bad JSON as configuration errors', async () => {
  const answer = (status, body) => async () => new Response(body, { status })
  assert.deepEqual(await loadConfig(answer(200, JSON.stringify(LOCAL))), LOCAL)
  await assert.rejects(loadConfig(answer(404, 'no')), /config.json could not be loaded: HTTP 404/)
  await assert.rejects(loadConfig(answer(200, '{')), /config.json: is not valid JSON/)
  await assert.rejects(
    loadConfig(async () => {
      throw new TypeError('Failed to fetch')
    }),
    /config.json could not be loaded: Failed to fetch/,
  )
})
