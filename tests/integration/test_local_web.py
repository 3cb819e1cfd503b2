"""The local web server: the page's files, `config.json`, sign-in against moto's Cognito, and the
API behind a token check that refuses what API Gateway's JWT authorizer would, over real HTTP."""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from moto.utilities.utils import load_resource

from conveyor import settings
from conveyor.aws import client
from conveyor.errors import ConfigError, ConveyorError
from conveyor_local.provision import LOCAL_ORIGINS, provision
from conveyor_local.users import add_user, generate_password, password_problem, provision_users
from conveyor_local.web import static
from conveyor_local.web.app import local_web_app
from conveyor_local.web.server import WebServer
from conveyor_local.web.tokens import REFETCH_COOLDOWN_SECONDS, KeySet, TokenRefused
from tests.conftest import free_port
from tests.integration.local import LOCAL_UP, conveyor_env, output_of, stack_s3, start_local_up

PASSWORD = "Right-horse-42"
MOTO_KEY = jwt.PyJWK(load_resource("cognitoidp/resources/jwks-private.json"))
"""The key moto signs every pool's tokens with: forged tokens that are validly signed, so each
check after the signature is what refuses them."""
SECRET = "the secret next to the page's folder\n"


@dataclass
class Pool:
    cognito: Any
    pool_id: str
    client_id: str
    username: str

    @property
    def issuer(self) -> str:
        return f"https://cognito-idp.us-east-1.amazonaws.com/{self.pool_id}"

    def tokens(self, client_id: str | None = None) -> dict[str, Any]:
        return self.cognito.initiate_auth(
            ClientId=client_id or self.client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": self.username, "PASSWORD": PASSWORD},
        )["AuthenticationResult"]


def new_pool(cognito: Any) -> Pool:
    values = provision_users(cognito, name=f"t{uuid.uuid4().hex[:10]}")
    username = f"u{uuid.uuid4().hex[:6]}"
    add_user(cognito, pool_id=values[settings.USER_POOL_ID], username=username, password=PASSWORD)
    return Pool(
        cognito, values[settings.USER_POOL_ID], values[settings.USER_POOL_CLIENT_ID], username
    )


@pytest.fixture(scope="module")
def pool(moto_endpoint: str) -> Pool:
    return new_pool(client("cognito-idp"))


@dataclass
class Site:
    url: str
    host: str
    port: int
    endpoint: str
    events: list[dict[str, Any]]
    root: Path

    def call(
        self,
        method: str,
        path: str,
        body: bytes | str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, http.client.HTTPMessage, bytes]:
        """One request, its path sent exactly as given (no normalizing of `..`)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, response.headers, response.read()
        finally:
            connection.close()

    def api(self, method: str, path: str, token: str | None, **kwargs: Any) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        status, _, body = self.call(method, path, headers={**headers, **kwargs}, body=None)
        return status, json.loads(body)

    def sign_in(self, username: str, password: str) -> tuple[int, Any]:
        body = json.dumps({"username": username, "password": password})
        status, _, answer = self.call(
            "POST", "/api/session", body, {"Content-Type": "application/json"}
        )
        return status, json.loads(answer)


def echo(events: list[dict[str, Any]]) -> Any:
    """A handler that answers with the event it got, as the API's Lambda would get it."""

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        events.append(event)
        assert context.get_remaining_time_in_millis() > 0
        return {
            "statusCode": 200,
            "headers": {"Content-Type": "application/json", "X-Request-Id": context.aws_request_id},
            "cookies": ["a=1; Path=/", "b=2"],
            "body": json.dumps(event),
        }

    return handler


@contextlib.contextmanager
def serve(
    moto_endpoint: str, pool: Pool, site: Path, handler: Any = None, events: list | None = None
) -> Iterator[Site]:
    events = [] if events is None else events
    server = WebServer(0)
    values = {
        settings.STAGING_BUCKET: "web-staging",
        settings.USER_POOL_ID: pool.pool_id,
        settings.USER_POOL_CLIENT_ID: pool.client_id,
    }
    app = local_web_app(
        endpoint=moto_endpoint,
        region="us-east-1",
        values=values,
        cognito=pool.cognito,
        hosts=server.hosts,
        handler=handler or echo(events),
        site=site,
    )
    server.start(app)
    try:
        yield Site(server.url, server.hosts[0], server.port, moto_endpoint, events, site)
    finally:
        server.stop()


@pytest.fixture
def site(tmp_path: Path, moto_endpoint: str, pool: Pool) -> Iterator[Site]:
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html><title>Conveyor</title>")
    (dist / "assets" / "app.js").write_text("console.log('conveyor')")
    (dist / "assets" / "app.css").write_text("body{}")
    (tmp_path / "secret.txt").write_text(SECRET)
    (dist / "escape").symlink_to(tmp_path / "secret.txt")
    with serve(moto_endpoint, pool, dist) as served:
        yield served


def forged(pool: Pool, **changes: Any) -> str:
    """An access token for the pool's user, signed with moto's key, with `changes` made."""
    now = int(time.time())
    claims = {
        "iss": pool.issuer,
        "sub": str(uuid.uuid4()),
        "client_id": pool.client_id,
        "token_use": "access",
        "iat": now,
        "auth_time": now,
        "exp": now + 3600,
        "username": pool.username,
    }
    claims.update(changes)
    return jwt.encode(claims, MOTO_KEY.key, algorithm="RS256", headers={"kid": "dummy"})


# -- tokens ----------------------------------------------------------------------------------------


def test_a_signed_in_users_token_reaches_the_api_as_the_authorizer_passes_it(
    site: Site, pool: Pool
) -> None:
    status, tokens = site.sign_in(pool.username, PASSWORD)
    assert status == 200, tokens
    assert set(tokens) == {"access_token", "id_token", "refresh_token", "expires_in", "username"}
    assert tokens["username"] == pool.username
    status, headers, body = site.call(
        "GET",
        "/api/files/20261128T105512Z-4f9c2a1b?x=1&x=2&y=",
        headers={"Authorization": f"Bearer {tokens['access_token']}", "X-Two": "a"},
    )
    assert status == 200, body
    assert headers.get_all("Set-Cookie") == ["a=1; Path=/", "b=2"]
    [event] = site.events
    assert json.loads(body) == event
    assert headers["X-Request-Id"] == event["requestContext"]["requestId"]
    assert event["version"] == "2.0"
    assert event["routeKey"] == "$default"
    assert event["rawPath"] == "/files/20261128T105512Z-4f9c2a1b"
    assert event["rawQueryString"] == "x=1&x=2&y="
    assert event["queryStringParameters"] == {"x": "1,2", "y": ""}
    assert event["headers"]["authorization"] == f"Bearer {tokens['access_token']}"
    assert event["headers"]["x-two"] == "a"
    assert all(name == name.lower() for name in event["headers"])
    assert event["isBase64Encoded"] is False and "body" not in event
    context = event["requestContext"]
    assert context["http"]["method"] == "GET"
    assert context["http"]["path"] == "/files/20261128T105512Z-4f9c2a1b"
    assert context["http"]["sourceIp"] == "127.0.0.1"
    assert context["routeKey"] == "$default" and context["stage"] == "$default"
    claims = context["authorizer"]["jwt"]["claims"]
    signed = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert claims["sub"] == signed["sub"] and claims["username"] == pool.username
    assert (claims["client_id"], claims["token_use"]) == (pool.client_id, "access")
    assert claims["exp"] == str(signed["exp"])  # every claim a string, as API Gateway's
    assert all(isinstance(value, str) for value in claims.values())


def test_a_request_body_reaches_the_api_as_text_or_base64(site: Site, pool: Pool) -> None:
    token = pool.tokens()["AccessToken"]
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    body = json.dumps({"name": "cät.mov", "size": 5, "type": "video/quicktime"})
    status, _, _ = site.call("POST", "/api/uploads", body.encode(), auth)
    assert status == 200
    status, _, _ = site.call("POST", "/api/uploads", b"\xff\x00\xfe", auth)
    assert status == 200
    text, binary = site.events
    assert (text["body"], text["isBase64Encoded"]) == (body, False)
    assert text["requestContext"]["http"]["method"] == "POST"
    assert (base64.b64decode(binary["body"]), binary["isBase64Encoded"]) == (b"\xff\x00\xfe", True)


def test_the_event_drives_a_powertools_resolver(tmp_path: Path, moto_endpoint: str, pool: Pool):
    """What the real handler is built on routes the event and reads the claims where it looks."""
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

    resolver = APIGatewayHttpResolver()

    @resolver.get("/files/<file_id>")
    def one(file_id: str) -> dict[str, str]:
        claims = resolver.current_event.request_context.authorizer.jwt_claim
        return {"id": file_id, "sub": claims["sub"]}

    with serve(moto_endpoint, pool, tmp_path, handler=resolver.resolve) as site:
        token = pool.tokens()["AccessToken"]
        status, answer = site.api("GET", "/api/files/20261128T105512Z-4f9c2a1b", token)
        assert status == 200, answer
        sub = jwt.decode(token, options={"verify_signature": False})["sub"]
        assert answer == {"id": "20261128T105512Z-4f9c2a1b", "sub": sub}
        status, answer = site.api("GET", "/api/nothing", token)
        assert status == 404


def other_client_token(pool: Pool) -> str:
    other = pool.cognito.create_user_pool_client(
        UserPoolId=pool.pool_id,
        ClientName="another-app",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    return pool.tokens(other)["AccessToken"]


def tampered(pool: Pool) -> str:
    header, payload, signature = pool.tokens()["AccessToken"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = str(uuid.uuid4())  # someone else's files
    changed = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{changed}.{signature}"


def unknown_key(pool: Pool) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    claims = jwt.decode(pool.tokens()["AccessToken"], options={"verify_signature": False})
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "rotated"})


def hs256(pool: Pool) -> str:
    """The pool's public key used as an HMAC secret: the classic algorithm confusion."""
    claims = jwt.decode(pool.tokens()["AccessToken"], options={"verify_signature": False})
    header = base64.urlsafe_b64encode(b'{"alg":"HS256","kid":"dummy","typ":"JWT"}').rstrip(b"=")
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=")
    return f"{header.decode()}.{body.decode()}.c2lnbmF0dXJl"


REFUSALS = {
    "no token": (lambda pool: None, "sign in first: the request has no bearer token"),
    "not a JWT": (lambda pool: "not-a-token", "the bearer token is not a JSON Web Token"),
    "tampered": (tampered, "the token's signature does not match its contents"),
    "another pool": (
        lambda pool: new_pool(pool.cognito).tokens()["AccessToken"],
        "the token was issued by another user pool",
    ),
    "another client": (other_client_token, "the token was issued to another app client"),
    "expired": (
        lambda pool: forged(pool, exp=int(time.time()) - 30),
        "the sign-in has expired: sign in again",
    ),
    "issued in the future": (
        lambda pool: forged(pool, iat=int(time.time()) + 600),
        "the token is not valid yet (issued in the future)",
    ),
    "id token": (
        lambda pool: pool.tokens()["IdToken"],
        "the token's use is 'id', not 'access': send the access token",
    ),
    "no sub": (lambda pool: forged(pool, sub=None), "the token has no 'sub' claim"),
    "alg none": (
        lambda pool: jwt.encode(
            jwt.decode(pool.tokens()["AccessToken"], options={"verify_signature": False}),
            None,
            algorithm="none",
        ),
        "the token is signed with 'none', not RS256",
    ),
    "HS256": (hs256, "the token is signed with 'HS256', not RS256"),
    "unknown key": (unknown_key, "the token is signed with a key the user pool does not have"),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_the_api_refuses_a_token_the_authorizer_would(site: Site, pool: Pool, case: str) -> None:
    make, reason = REFUSALS[case]
    token = make(pool)
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    status, answer_headers, body = site.call("GET", "/api/files", headers=headers)
    assert (status, json.loads(body)) == (401, {"error": reason})
    assert answer_headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')
    assert site.events == []  # the API never ran


def test_a_valid_forged_token_passes(site: Site, pool: Pool) -> None:
    """The refusals above are each one change away from a token that passes."""
    status, _ = site.api("GET", "/api/files", forged(pool))
    assert status == 200


# -- sign-in ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("username", "password"),
    [("{user}", "Wrong-horse-42"), ("nobody-here", PASSWORD), ("{user}", PASSWORD.lower())],
)
def test_a_wrong_name_or_password_does_not_sign_in(
    site: Site, pool: Pool, username: str, password: str
) -> None:
    status, answer = site.sign_in(username.format(user=pool.username), password)
    assert (status, answer) == (401, {"error": "wrong user name or password"})


@pytest.mark.parametrize(
    ("method", "body", "status", "message"),
    [
        ("POST", b"not json", 400, 'send a JSON object with exactly "username" and "password"'),
        ("POST", b'{"username": "a"}', 400, 'send a JSON object with exactly "username"'),
        ("POST", b'{"username": " ", "password": "x"}', 400, "the user name is empty"),
        ("POST", b'{"username": "a", "password": ""}', 400, "the password is empty"),
        ("GET", None, 405, "sign in with POST"),
    ],
)
def test_a_malformed_sign_in_is_refused(
    site: Site, method: str, body: bytes | None, status: int, message: str
) -> None:
    got, _, answer = site.call(method, "/api/session", body)
    assert got == status
    assert json.loads(answer)["error"].startswith(message)


# -- the page --------------------------------------------------------------------------------------


def test_the_page_and_its_files_are_served_with_types_and_security_headers(site: Site) -> None:
    for path, kind, text in [
        ("/", "text/html; charset=utf-8", b"<title>Conveyor</title>"),
        ("/index.html", "text/html; charset=utf-8", b"<title>Conveyor</title>"),
        ("/assets/app.js", "text/javascript; charset=utf-8", b"console.log"),
        ("/assets/app.css", "text/css; charset=utf-8", b"body{}"),
    ]:
        status, headers, body = site.call("GET", path)
        assert status == 200, path
        assert headers["Content-Type"] == kind and text in body
        assert headers["Cache-Control"] == "no-cache"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        csp = dict(part.split(" ", 1) for part in headers["Content-Security-Policy"].split("; "))
        assert csp["default-src"] == "'self'" and csp["script-src"] == "'self'"
        assert csp["connect-src"] == f"'self' {site.endpoint}"  # the API and S3, nothing else
        assert csp["frame-ancestors"] == "'none'"
        assert all("*" not in value and "unsafe" not in value for value in csp.values())
    status, headers, body = site.call("HEAD", "/assets/app.js")
    assert (status, body) == (200, b"")
    status, _, _ = site.call("POST", "/index.html")
    assert status == 405


@pytest.mark.parametrize(
    "path",
    [
        "/../secret.txt",
        "/assets/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/assets/%2E%2E/%2e%2e/secret.txt",
        "/assets/..%2f..%2fsecret.txt",
        "/..%5csecret.txt",
        "/escape",
        "/%2fetc%2fpasswd",
        "//etc/passwd",
        "/assets",
        "/missing.js",
    ],
)
def test_nothing_outside_the_pages_folder_can_be_read(site: Site, path: str) -> None:
    status, _, body = site.call("GET", path)
    assert status in (400, 404), (path, status)
    assert SECRET.encode() not in body and b"root:" not in body


def test_config_json_tells_the_page_where_it_runs(site: Site) -> None:
    status, headers, body = site.call("GET", "/config.json")
    assert status == 200
    assert headers["Content-Type"] == "application/json"
    assert headers["Cache-Control"] == "no-store"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert json.loads(body) == {
        "api": "/api",
        "auth": {"mode": "local"},
        "s3": {
            "endpoint": site.endpoint,
            "region": "us-east-1",
            "bucket": "web-staging",
            "forcePathStyle": True,
        },
    }


def test_without_a_built_page_the_root_says_how_to_build_it(
    tmp_path: Path, moto_endpoint: str, pool: Pool
) -> None:
    with serve(moto_endpoint, pool, tmp_path / "never-built") as site:
        status, headers, body = site.call("GET", "/")
        assert status == 503 and b"make web" in body
        assert headers["Content-Type"] == "text/html; charset=utf-8"
        assert site.call("GET", "/app.js")[0] == 404
        assert site.call("GET", "/config.json")[0] == 200


def test_another_host_name_gets_nothing(site: Site) -> None:
    """A page elsewhere whose name is rebound to 127.0.0.1 cannot use the API or the files."""
    status, _, body = site.call("GET", "/config.json", headers={"Host": "evil.example:80"})
    assert status == 400 and b"web-staging" not in body
    port = site.port
    assert site.call("GET", "/config.json", headers={"Host": f"localhost:{port}"})[0] == 200


# -- the handler's answers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("result", "status", "body"),
    [
        ({"statusCode": 201, "body": '{"id": "x"}'}, 201, b'{"id": "x"}'),
        ({"statusCode": 200, "body": "aGk=", "isBase64Encoded": True}, 200, b"hi"),
        ({"files": []}, 200, b'{"files": []}'),  # API Gateway's inferred response
        (
            {"statusCode": "200"},
            500,
            b'{"error": "the API failed: the local stack\'s log says why"}',
        ),
        (
            RuntimeError("boom"),
            500,
            b'{"error": "the API failed: the local stack\'s log says why"}',
        ),
    ],
)
def test_the_handlers_answer_becomes_the_response(
    tmp_path: Path, moto_endpoint: str, pool: Pool, result: Any, status: int, body: bytes
) -> None:
    def handler(event: dict[str, Any], context: Any) -> Any:
        if isinstance(result, Exception):
            raise result
        return result

    with serve(moto_endpoint, pool, tmp_path, handler=handler) as site:
        got = site.call("GET", "/api/files", headers={"Authorization": f"Bearer {forged(pool)}"})
        assert (got[0], got[2]) == (status, body)


def test_a_cors_preflight_reaches_the_api_without_a_token(site: Site) -> None:
    status, _, _ = site.call("OPTIONS", "/api/uploads", headers={"Origin": site.url.rstrip("/")})
    assert status == 200
    [event] = site.events
    assert event["requestContext"]["http"]["method"] == "OPTIONS"
    assert "authorizer" not in event["requestContext"]


def test_a_request_body_over_a_mebibyte_is_refused(site: Site, pool: Pool) -> None:
    token = forged(pool)
    big = b"x" * (1024 * 1024 + 1)
    for path in ("/api/uploads", "/api/session"):
        status, _, body = site.call("POST", path, big, {"Authorization": f"Bearer {token}"})
        assert (status, json.loads(body)) == (413, {"error": "the request body is too large"})
    assert site.events == []


def test_the_built_page_is_served_from_web_dist(moto_endpoint: str, pool: Pool) -> None:
    """`make web`'s output, found next to the package source, with types a module script and
    its stylesheet need under nosniff."""
    assert Path(__file__).resolve().parents[2] / "web" / "dist" == static.SITE
    if not (static.SITE / "index.html").is_file():
        pytest.skip("the page is not built (make web)")
    with serve(moto_endpoint, pool, static.SITE) as site:
        status, _, index = site.call("GET", "/")
        assert status == 200
        assets = re.findall(r'(?:src|href)="\./([^"]+)"', index.decode())
        assert any(a.endswith(".js") for a in assets) and any(a.endswith(".css") for a in assets)
        for asset in assets:
            status, headers, _ = site.call("GET", f"/{asset}")
            assert status == 200, asset
            assert headers["Content-Type"] == static.content_type(Path(asset))
            assert headers["Content-Type"] != static.DEFAULT_TYPE


def test_a_port_in_use_is_one_clear_error() -> None:
    taken = WebServer(0)
    try:
        with pytest.raises(ConfigError, match=r"try another --web-port"):
            WebServer(taken.port)
    finally:
        taken.stop()


def public_jwk(kid: str) -> dict[str, Any]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    return {**RSAAlgorithm.to_jwk(key, as_dict=True), "kid": kid, "alg": "RS256", "use": "sig"}


def test_keys_are_fetched_once_and_again_only_for_an_unknown_id() -> None:
    published = [public_jwk("first")]
    fetched: list[str] = []
    now = [100.0]

    def fetch(url: str) -> dict[str, Any]:
        fetched.append(url)
        return {"keys": list(published)}

    keys = KeySet("http://moto/p/.well-known/jwks.json", fetch=fetch, clock=lambda: now[0])
    assert keys.key("first") is not None and keys.key("first") is not None
    assert len(fetched) == 1  # cached
    published.append(public_jwk("rotated"))
    now[0] += REFETCH_COOLDOWN_SECONDS
    assert keys.key("rotated") is not None  # an unknown id: one fetch finds the new key
    assert len(fetched) == 2
    with pytest.raises(TokenRefused, match="a key the user pool does not have"):
        keys.key("forged")  # unknown, but fetched a moment ago: no fetch per forged token
    assert len(fetched) == 2
    now[0] += REFETCH_COOLDOWN_SECONDS
    with pytest.raises(TokenRefused, match="a key the user pool does not have"):
        keys.key("forged")
    assert fetched == ["http://moto/p/.well-known/jwks.json"] * 3


# -- users -----------------------------------------------------------------------------------------


def test_a_user_added_twice_or_with_a_weak_password_changes_nothing(pool: Pool) -> None:
    with pytest.raises(ConveyorError, match=f"user '{pool.username}' already exists"):
        add_user(pool.cognito, pool_id=pool.pool_id, username=pool.username, password="New-pass-99")
    assert pool.tokens()["AccessToken"]  # the first password still signs in
    for weak, why in [
        ("Sh0rt!", "at least 8 characters"),
        ("alllower-42", "an upper-case letter"),
        ("NoDigits-here", "a digit"),
        ("NoSymbol42here", "a symbol"),
    ]:
        with pytest.raises(ConfigError, match=why):
            add_user(pool.cognito, pool_id=pool.pool_id, username="weak", password=weak)
    with pytest.raises(ConfigError, match="spaces or control characters"):
        add_user(pool.cognito, pool_id=pool.pool_id, username="two words")
    users = pool.cognito.list_users(UserPoolId=pool.pool_id)["Users"]
    assert [user["Username"] for user in users] == [pool.username]


def test_generated_passwords_meet_the_pools_policy(pool: Pool) -> None:
    assert all(password_problem(generate_password()) is None for _ in range(200))
    name = f"g{uuid.uuid4().hex[:6]}"
    password = add_user(pool.cognito, pool_id=pool.pool_id, username=name)
    assert len(password) == 20
    pool.cognito.initiate_auth(
        ClientId=pool.client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": name, "PASSWORD": password},
    )


def test_provisioning_users_again_finds_the_same_pool_and_client(pool: Pool) -> None:
    name = f"t{uuid.uuid4().hex[:10]}"
    first = provision_users(pool.cognito, name=name)
    assert provision_users(pool.cognito, name=name) == first
    described = pool.cognito.describe_user_pool_client(
        UserPoolId=first[settings.USER_POOL_ID], ClientId=first[settings.USER_POOL_CLIENT_ID]
    )["UserPoolClient"]
    assert "ClientSecret" not in described
    assert set(described["ExplicitAuthFlows"]) == {
        "ALLOW_USER_PASSWORD_AUTH",
        "ALLOW_REFRESH_TOKEN_AUTH",
    }


def test_the_staging_bucket_lets_the_page_upload(moto_endpoint: str) -> None:
    s3 = client("s3")
    origin = "http://127.0.0.1:18321"
    created = provision(
        s3=s3,
        sqs=client("sqs"),
        dynamodb=client("dynamodb"),
        name=f"t{uuid.uuid4().hex[:10]}",
        web_origins=(origin,),
    )
    bucket = created[settings.STAGING_BUCKET]
    [rule] = s3.get_bucket_cors(Bucket=bucket)["CORSRules"]
    assert rule["AllowedOrigins"] == [origin, *LOCAL_ORIGINS]  # what it allowed before, kept
    connection = http.client.HTTPConnection(moto_endpoint.removeprefix("http://"), timeout=10)
    connection.request(
        "OPTIONS",
        f"/{bucket}/uploads/someone/file.mov?uploads",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-amz-date",
        },
    )
    response = connection.getresponse()
    response.read()
    assert response.status == 200
    assert response.headers["Access-Control-Allow-Origin"] == origin


# -- the commands ----------------------------------------------------------------------------------


def conveyor(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "conveyor_cli", *args],
        capture_output=True,
        text=True,
        env=conveyor_env(home),
        timeout=60,
    )


def sign_in_at(page: str, username: str, password: str) -> tuple[int, Any]:
    request = urllib.request.Request(
        f"{page}api/session",
        data=json.dumps({"username": username, "password": password}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as err:
        return err.code, json.load(err)


def test_local_up_serves_the_page_and_local_user_add_lets_someone_in(tmp_path: Path) -> None:
    done = conveyor(tmp_path, "local", "user", "add", "alice")
    assert done.returncode == 1 and "no local stack is running" in done.stderr
    process, state = start_local_up(tmp_path)
    try:
        page = state["web"]
        assert page.startswith("http://127.0.0.1:") and page.endswith("/")
        staging = state["settings"][settings.STAGING_BUCKET]
        with urllib.request.urlopen(f"{page}config.json", timeout=10) as response:
            assert json.load(response)["s3"] == {
                "endpoint": state["endpoint"],
                "region": "us-east-1",
                "bucket": staging,
                "forcePathStyle": True,
            }
        origin = page.rstrip("/")
        assert state["settings"][settings.WEB_ORIGIN] == origin
        s3 = stack_s3(state)
        assert origin in s3.get_bucket_cors(Bucket=staging)["CORSRules"][0]["AllowedOrigins"]

        done = conveyor(tmp_path, "local", "user", "add", "alice")
        assert done.returncode == 0, done.stderr
        [password] = [
            line[10:] for line in done.stdout.splitlines() if line.startswith("password: ")
        ]
        assert f"sign in at {page}" in done.stdout
        status, tokens = sign_in_at(page, "alice", password)
        assert status == 200 and tokens["username"] == "alice"
        files = urllib.request.Request(
            f"{page}api/files", headers={"Authorization": f"Bearer {tokens['access_token']}"}
        )
        with urllib.request.urlopen(files, timeout=10) as response:  # the API's own handler
            assert json.load(response) == {"files": []}
        assert sign_in_at(page, "alice", password + "x") == (
            401,
            {"error": "wrong user name or password"},
        )

        done = conveyor(tmp_path, "local", "user", "add", "alice", "--password", "Other-pass-1")
        assert done.returncode == 1 and done.stdout == ""
        assert done.stderr == "error: user 'alice' already exists in the local user pool\n"
        done = conveyor(tmp_path, "local", "user", "add", "bob", "--password", "Chosen-pass-7")
        assert done.returncode == 0, done.stderr
        assert sign_in_at(page, "bob", "Chosen-pass-7")[0] == 200
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
    output = output_of(tmp_path)
    assert process.returncode == 0, output
    assert f"page: {page} (to let someone sign in: conveyor local user add NAME)\n" in output


def test_local_up_on_a_web_port_in_use_stops_at_once(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        done = subprocess.run(
            [*LOCAL_UP, str(free_port()), "--web-port", str(port)],
            capture_output=True,
            text=True,
            env=conveyor_env(tmp_path),
            timeout=60,
        )
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stderr == (
        f"error: cannot listen on 127.0.0.1:{port}: Address already in use (is another "
        "`conveyor local up` or server using it? try another --web-port)\n"
    )
    assert not (tmp_path / "local.json").exists()


def test_demo_web_serves_the_page_with_a_demo_user_until_stopped(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "conveyor_cli", "demo", "--web", "--web-port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=conveyor_env(tmp_path),
    )
    lines: list[str] = []
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 60
        while not any(line.startswith("password: ") for line in lines):
            assert time.monotonic() < deadline and process.poll() is None, "".join(lines)
            lines.append(process.stdout.readline())
        values = dict(line.rstrip("\n").split(": ", 1) for line in lines if ": " in line)
        assert values["user"] == "demo"
        status, tokens = sign_in_at(values["page"], "demo", values["password"])
        assert status == 200 and tokens["username"] == "demo"
        state = json.loads((tmp_path / "local.json").read_text())  # other terminals find it
        assert state["web"] == values["page"]
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, "".join(lines) + output
    assert "Stopped." in output
