"""The local stand-in for API Gateway's JWT authorizer: a Cognito access token checked against the
user pool's published keys, so the API handler sees only claims a real authorizer would pass.

moto signs every pool's tokens with one RSA key and serves it at `<endpoint>/<pool id>/.well-known/
jwks.json`; it writes the issuer AWS writes, `https://cognito-idp.<region>.amazonaws.com/<pool id>`
(not the endpoint), so the issuer, never the key, is what tells one pool's tokens from another's.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Callable
from typing import Any

import jwt

ALGORITHM = "RS256"
"""What Cognito signs with; `none`, HS256 (a public key used as a shared secret) and the rest are
refused before any key is looked at."""
LEEWAY_SECONDS = 5
"""Clock skew allowed on `exp` and `iat`: a few seconds, never minutes."""
REFETCH_COOLDOWN_SECONDS = 30.0
"""An unknown key id fetches the key set again, at most this often: forged ids cannot make every
request a fetch."""
FETCH_TIMEOUT_SECONDS = 5.0
REQUIRED_CLAIMS = ("exp", "iat", "iss", "sub", "token_use")

Fetch = Callable[[str], dict[str, Any]]


class TokenRefused(Exception):
    """The token is missing or not one the authorizer would accept; the message says which check
    failed, in a sentence for the person signed in."""


class KeysUnavailable(Exception):
    """The user pool's key set could not be read: the server's trouble, not the token's."""


def issuer(region: str, pool_id: str) -> str:
    """The `iss` Cognito (and moto) writes into a pool's tokens."""
    return f"https://cognito-idp.{region}.amazonaws.com/{pool_id}"


def jwks_url(endpoint: str, pool_id: str) -> str:
    """Where moto serves a pool's public keys (on AWS: under the issuer)."""
    return f"{endpoint.rstrip('/')}/{pool_id}/.well-known/jwks.json"


def fetch_json(url: str) -> dict[str, Any]:
    try:
        with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT_SECONDS) as response:
            return json.load(response)
    except (OSError, ValueError) as err:
        raise KeysUnavailable(f"cannot read the user pool's keys from {url}: {err}") from err


class KeySet:
    """The pool's signing keys by key id, fetched once and again only for an unknown id."""

    def __init__(
        self,
        url: str,
        *,
        fetch: Fetch = fetch_json,
        cooldown: float = REFETCH_COOLDOWN_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self._fetch = fetch
        self._cooldown = cooldown
        self._clock = clock
        self._keys: dict[str, Any] | None = None
        self._fetched_at = 0.0
        self._lock = threading.Lock()

    def key(self, kid: str) -> Any:
        """The public key named `kid`; TokenRefused when the pool has none by that id."""
        with self._lock:
            if self._keys is None or (
                kid not in self._keys and self._clock() - self._fetched_at >= self._cooldown
            ):
                self._keys = self._load()
                self._fetched_at = self._clock()
            found = self._keys.get(kid)
        if found is None:
            raise TokenRefused("the token is signed with a key the user pool does not have")
        return found

    def _load(self) -> dict[str, Any]:
        document = self._fetch(self.url)
        try:
            keys = jwt.PyJWKSet.from_dict(document).keys
        except (jwt.PyJWKSetError, jwt.InvalidKeyError, TypeError, AttributeError) as err:
            raise KeysUnavailable(f"the user pool's key set at {self.url} is unusable") from err
        return {key.key_id: key.key for key in keys if key.key_id}


class Verifier:
    """Checks what API Gateway's JWT authorizer checks for a Cognito access token (signature,
    issuer, app client, expiry) and that it is an access token, then hands back its claims."""

    def __init__(self, *, keys: KeySet, issuer: str, client_id: str) -> None:
        self.keys = keys
        self.issuer = issuer
        self.client_id = client_id

    def verify(self, token: str) -> dict[str, Any]:
        """The token's claims, or TokenRefused saying which check failed."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as err:
            raise TokenRefused("the bearer token is not a JSON Web Token") from err
        algorithm = header.get("alg")
        if algorithm != ALGORITHM:
            named = str(algorithm)[:20]
            raise TokenRefused(f"the token is signed with {named!r}, not {ALGORITHM}")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise TokenRefused("the token names no signing key")
        claims = self._decode(token, self.keys.key(kid))
        if claims.get("token_use") != "access":
            use = claims.get("token_use")
            raise TokenRefused(f"the token's use is {use!r}, not 'access': send the access token")
        if claims.get("client_id") != self.client_id:
            raise TokenRefused("the token was issued to another app client")
        return claims

    def _decode(self, token: str, key: Any) -> dict[str, Any]:
        try:
            return jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                issuer=self.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": list(REQUIRED_CLAIMS), "verify_aud": False},
            )
        except jwt.ExpiredSignatureError as err:
            raise TokenRefused("the sign-in has expired: sign in again") from err
        except jwt.InvalidSignatureError as err:
            raise TokenRefused("the token's signature does not match its contents") from err
        except jwt.InvalidIssuerError as err:
            raise TokenRefused("the token was issued by another user pool") from err
        except jwt.ImmatureSignatureError as err:
            raise TokenRefused("the token is not valid yet (issued in the future)") from err
        except jwt.MissingRequiredClaimError as err:
            raise TokenRefused(f"the token has no {err.claim!r} claim") from err
        except jwt.InvalidTokenError as err:
            raise TokenRefused(f"the token is invalid: {err}") from err
