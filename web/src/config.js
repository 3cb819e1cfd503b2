// The page's configuration, /config.json beside index.html: where the API, the sign-in and the
// staging bucket are. Parsed strictly so a deployment mistake shows as one clear sentence.

export class ConfigError extends Error {
  name = 'ConfigError'
}

const DEFAULT_SCOPES = ['openid', 'email', 'profile']

function fail(message) {
  throw new ConfigError(`config.json: ${message}`)
}

function text(value, name) {
  if (typeof value !== 'string' || value.trim() === '') fail(`${name} must be a non-empty string`)
  return value.trim()
}

function absoluteUrl(value, name, protocols, { exact = false } = {}) {
  const raw = text(value, name)
  let url
  try {
    url = new URL(raw)
  } catch {
    fail(`${name} must be an absolute URL, not ${JSON.stringify(raw)}`)
  }
  if (!protocols.includes(url.protocol)) {
    fail(`${name} must start with ${protocols.map((p) => `${p}//`).join(' or ')}`)
  }
  return exact ? raw : raw.replace(/\/+$/, '')
}

function parseApi(value) {
  const raw = text(value, 'api')
  if (raw.startsWith('/')) return raw.replace(/\/+$/, '')
  return absoluteUrl(raw, 'api', ['https:', 'http:'])
}

function parseAuth(auth) {
  if (auth == null || typeof auth !== 'object') fail('auth must be an object')
  if (auth.mode === 'local') return { mode: 'local' }
  if (auth.mode !== 'cognito') fail('auth.mode must be "local" or "cognito"')
  const scopes = auth.scopes ?? DEFAULT_SCOPES
  const named = Array.isArray(scopes) && scopes.every((s) => typeof s === 'string' && s)
  if (!named || scopes.length === 0) {
    fail('auth.scopes must be a non-empty list of strings')
  }
  return {
    mode: 'cognito',
    domain: absoluteUrl(auth.domain, 'auth.domain', ['https:']),
    clientId: text(auth.clientId, 'auth.clientId'),
    // Kept exactly as given: Cognito compares it with the registered callback URL verbatim.
    redirectUri: absoluteUrl(auth.redirectUri, 'auth.redirectUri', ['https:', 'http:'], {
      exact: true,
    }),
    scopes: [...scopes],
  }
}

function parseS3(s3) {
  if (s3 == null || typeof s3 !== 'object') fail('s3 must be an object')
  if (typeof s3.forcePathStyle !== 'boolean') fail('s3.forcePathStyle must be true or false')
  return {
    endpoint: absoluteUrl(s3.endpoint, 's3.endpoint', ['https:', 'http:']),
    region: text(s3.region, 's3.region'),
    bucket: text(s3.bucket, 's3.bucket'),
    forcePathStyle: s3.forcePathStyle,
  }
}

/** The validated configuration, or a ConfigError naming the first wrong field. */
export function parseConfig(raw) {
  if (raw == null || typeof raw !== 'object' || Array.isArray(raw)) fail('must be a JSON object')
  return { api: parseApi(raw.api), auth: parseAuth(raw.auth), s3: parseS3(raw.s3) }
}

/** Fetches and parses /config.json next to the page. */
export async function loadConfig(fetchFn = fetch, url = 'config.json') {
  let response
  try {
    response = await fetchFn(url, { cache: 'no-store' })
  } catch (err) {
    throw new ConfigError(`config.json could not be loaded: ${err.message}`)
  }
  if (!response.ok) {
    throw new ConfigError(`config.json could not be loaded: HTTP ${response.status}`)
  }
  let raw
  try {
    raw = await response.json()
  } catch {
    fail('is not valid JSON')
  }
  return parseConfig(raw)
}
