"""The resource owner of a grant, as handed to Authlib's grants and token generator."""

from __future__ import annotations

from dataclasses import dataclass

from authserver.storage.models import User


@dataclass(frozen=True)
class Subject:
    user: User
    # When the user last authenticated (epoch seconds): the `auth_time` claim.
    auth_time: int
    login_session_id: str | None = None
    # RFC 8176 methods of the login behind the grant: the `amr` claim (empty: none known).
    amr: tuple[str, ...] = ()
    # Chosen before the tokens are made (a refresh rotation stores them with its claim:
    # ``grants.refresh_token``): the access token's `jti` and the refresh token to issue.
    reserved_jti: str | None = None
    reserved_refresh_token: str | None = None

    def get_user_id(self) -> str:
        return self.user.id
