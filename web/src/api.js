// The API client: JSON in and out with the bearer token; every failure becomes an ApiError
// whose message is one sentence a person can read (the API's own `error` when it sent one).

export class ApiError extends Error {
  name = 'ApiError'

  constructor(message, status) {
    super(message)
    this.status = status
  }
}

/** The message for a failed response: the API's {"error": ...}, else the HTTP status. */
export function errorMessage(status, body) {
  if (body && typeof body.error === 'string' && body.error.trim()) return body.error.trim()
  if (status === 401) return 'You are not signed in.'
  if (status === 403) return 'You are not allowed to do that.'
  if (status === 404) return 'Not found.'
  if (status >= 500) return `The API failed (HTTP ${status}); try again in a moment.`
  return `The API refused the request (HTTP ${status}).`
}

/**
 * A client for `base` (the config's api). `getToken` returns the access token or null;
 * `onUnauthorized` is called on a 401 so the page can ask for a new sign-in.
 */
export function createApi({ base, getToken, onUnauthorized = () => {}, fetchFn }) {
  const doFetch = fetchFn ?? globalThis.fetch.bind(globalThis)

  async function request(method, path, body) {
    const token = await getToken()
    if (!token) {
      onUnauthorized()
      throw new ApiError('You are not signed in.', 401)
    }
    const headers = { Authorization: `Bearer ${token}` }
    if (body !== undefined) headers['Content-Type'] = 'application/json'
    let response
    try {
      response = await doFetch(`${base}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      })
    } catch (err) {
      throw new ApiError(`Cannot reach the API: ${err.message}`, 0)
    }
    let parsed = null
    try {
      parsed = await response.json()
    } catch {
      // an empty or non-JSON body: the status speaks
    }
    if (!response.ok) {
      if (response.status === 401) onUnauthorized()
      throw new ApiError(errorMessage(response.status, parsed), response.status)
    }
    return parsed
  }

  return {
    createUpload: (file) => request('POST', '/uploads', file),
    listFiles: () => request('GET', '/files'),
    getFile: (id) => request('GET', `/files/${encodeURIComponent(id)}`),
    retryFile: (id) => request('POST', `/files/${encodeURIComponent(id)}/retry`),
    renewCredentials: (id) => request('POST', `/uploads/${encodeURIComponent(id)}/credentials`),
  }
}
