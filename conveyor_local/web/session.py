"""`POST /api/session`: signing in with a name and password, the local stand-in for Cognito's
managed sign-in page (the page gets the same tokens; moto's `InitiateAuth` makes them)."""

from __future__ import annotations

from typing import Any

import jwt
from botocore.exceptions import ClientError

from conveyor.s3 import error_code

WRONG = "wrong user name or password"
REFUSED_CODES = ("NotAuthorizedException", "UserNotFoundException", "UserNotConfirmedException")
"""A missing user answers as a wrong password does: the page must not tell which names exist."""


class SignInRefused(Exception):
    """The name and password do not sign in; the message is for the person."""


def credentials(body: Any) -> tuple[str, str]:
    """The user name and password of a sign-in request's JSON body, or ValueError saying why."""
    if not isinstance(body, dict) or set(body) != {"username", "password"}:
        raise ValueError('send a JSON object with exactly "username" and "password"')
    username, password = body["username"], body["password"]
    if not isinstance(username, str) or not username.strip():
        raise ValueError("the user name is empty")
    if not isinstance(password, str) or not password:
        raise ValueError("the password is empty")
    return username.strip(), password


def sign_in(cognito: Any, *, client_id: str, username: str, password: str) -> dict[str, Any]:
    """The tokens Cognito issues for this user and password (USER_PASSWORD_AUTH), in the shape
    the page keeps; SignInRefused when they do not sign in."""
    try:
        answer = cognito.initiate_auth(
            ClientId=client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": username, "PASSWORD": password},
        )
    except ClientError as err:
        if error_code(err) in REFUSED_CODES:
            raise SignInRefused(WRONG) from err
        raise
    result = answer.get("AuthenticationResult")
    if not result:  # a challenge, e.g. NEW_PASSWORD_REQUIRED: a user made without a password
        raise SignInRefused(
            f"this user must first be given a password ({answer.get('ChallengeName')}): "
            "`conveyor local user add` sets one"
        )
    access = result["AccessToken"]
    claims = jwt.decode(access, options={"verify_signature": False})  # straight from Cognito
    return {
        "access_token": access,
        "id_token": result["IdToken"],
        "refresh_token": result.get("RefreshToken"),
        "expires_in": result["ExpiresIn"],
        "username": claims.get("username") or username,
    }
