"""The people who may use the local web page: a Cognito user pool and the page's app client in moto,
as the CDK stack makes them on AWS, and `conveyor local user add`."""

from __future__ import annotations

import secrets
import string
from collections.abc import Iterable
from typing import Any

from botocore.exceptions import ClientError

from conveyor import settings
from conveyor.errors import ConfigError, ConveyorError
from conveyor.s3 import error_code

AUTH_FLOWS = ("ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH")
"""The local page signs in with a name and password (`/api/session`); on AWS the managed sign-in
page does, with the authorization code flow."""
MIN_PASSWORD = 8
SYMBOLS = "^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+-"
"""The special characters Cognito's password policy counts."""
GENERATED_LENGTH = 20
MAX_NAME = 128


def provision_users(cognito: Any, *, name: str) -> dict[str, str]:
    """Create (or find) the `<name>-users` pool and its `<name>-web` client; return their
    settings. Only an administrator adds users (no self sign-up), as on AWS."""
    pool_name, client_name = f"{name}-users", f"{name}-web"
    pools = cognito.get_paginator("list_user_pools").paginate(MaxResults=60)
    pool_id = (
        _find((p for page in pools for p in page["UserPools"]), pool_name, "Name", "Id")
        or cognito.create_user_pool(
            PoolName=pool_name,
            AdminCreateUserConfig={"AllowAdminCreateUserOnly": True},
            UsernameConfiguration={"CaseSensitive": False},
        )["UserPool"]["Id"]
    )
    clients = cognito.get_paginator("list_user_pool_clients").paginate(
        UserPoolId=pool_id, MaxResults=60
    )
    client_id = (
        _find(
            (c for page in clients for c in page["UserPoolClients"]),
            client_name,
            "ClientName",
            "ClientId",
        )
        or cognito.create_user_pool_client(
            UserPoolId=pool_id,
            ClientName=client_name,
            GenerateSecret=False,
            ExplicitAuthFlows=list(AUTH_FLOWS),
            PreventUserExistenceErrors="ENABLED",
        )["UserPoolClient"]["ClientId"]
    )
    return {settings.USER_POOL_ID: pool_id, settings.USER_POOL_CLIENT_ID: client_id}


def _find(items: Iterable[dict[str, Any]], name: str, name_field: str, id_field: str) -> str | None:
    return next((item[id_field] for item in items if item.get(name_field) == name), None)


def password_problem(password: str) -> str | None:
    """Why Cognito's default policy refuses `password`, or None."""
    missing = [
        what
        for what, present in (
            ("an upper-case letter", any(c.isupper() for c in password)),
            ("a lower-case letter", any(c.islower() for c in password)),
            ("a digit", any(c.isdigit() for c in password)),
            ("a symbol such as !@#%&", any(c in SYMBOLS for c in password)),
        )
        if not present
    ]
    if len(password) < MIN_PASSWORD:
        missing.insert(0, f"at least {MIN_PASSWORD} characters")
    if password != password.strip():
        return "a password cannot begin or end with a space"
    return f"the password needs {', '.join(missing)}" if missing else None


def generate_password(length: int = GENERATED_LENGTH) -> str:
    """A random password the default policy accepts: one of each class, the rest mixed."""
    classes = (string.ascii_uppercase, string.ascii_lowercase, string.digits, "!@#%&*-_=+")
    chosen = [secrets.choice(chars) for chars in classes]
    everything = "".join(classes)
    chosen += [secrets.choice(everything) for _ in range(length - len(chosen))]
    secrets.SystemRandom().shuffle(chosen)
    return "".join(chosen)


def name_problem(username: str) -> str | None:
    """Why Cognito would refuse `username`, or None (1-128 characters, no spaces or controls)."""
    if not username or len(username) > MAX_NAME:
        return f"a user name has 1 to {MAX_NAME} characters"
    if any(c.isspace() or not c.isprintable() for c in username):
        return "a user name cannot hold spaces or control characters"
    return None


def add_user(cognito: Any, *, pool_id: str, username: str, password: str | None = None) -> str:
    """Add `username` with a permanent password (the given one, or a generated one) and return
    it. A name already taken, or a password the policy refuses, changes nothing."""
    problem = name_problem(username) or (password_problem(password) if password else None)
    if problem:
        raise ConfigError(problem)
    password = password or generate_password()
    try:
        cognito.admin_create_user(UserPoolId=pool_id, Username=username, MessageAction="SUPPRESS")
    except ClientError as err:
        if error_code(err) == "UsernameExistsException":
            raise ConveyorError(f"user {username!r} already exists in the local user pool") from err
        raise
    try:
        cognito.admin_set_user_password(
            UserPoolId=pool_id, Username=username, Password=password, Permanent=True
        )
    except ClientError:
        cognito.admin_delete_user(UserPoolId=pool_id, Username=username)
        raise
    return password
