"""Who is asking: the claims API Gateway's JWT authorizer verified (locally, the local server's
own check puts them at the same place). The API trusts nothing else of the request."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from web_api.errors import Unauthorized
from web_api.keys import user_prefix, valid_sub


@dataclass(frozen=True)
class User:
    sub: str
    username: str

    @property
    def prefix(self) -> str:
        return user_prefix(self.sub)


def user_of(claims: Mapping[str, Any] | None) -> User:
    """The signed-in person, or Unauthorized when no verified token names one."""
    claims = claims or {}
    sub = claims.get("sub")
    if not isinstance(sub, str) or not valid_sub(sub):
        raise Unauthorized("Sign in first: the request carries no verified token.")
    username = claims.get("username") or claims.get("cognito:username") or sub
    return User(sub=sub, username=str(username))
