"""Recording what a user grant issued: its family, the access token's `jti`, the hash of
the refresh token. Shared by the password, refresh-token and authorization-code grants."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from authserver.clock import to_datetime
from authserver.hashing import secret_hash
from authserver.oauth.client import OAuthClient
from authserver.oauth.context import OAuthContext
from authserver.oauth.subject import Subject
from authserver.oauth.tokens import unverified_claims


def start_family(ctx: OAuthContext, client: OAuthClient, subject: Subject, scope: str) -> str:
    """A new family for a fresh grant; returns its id."""
    return ctx.uow.tokens.create_family(
        client_id=client.client_id,
        user_id=subject.user.id,
        scope=scope,
        auth_time=to_datetime(subject.auth_time),
        amr=list(subject.amr) or None,
        now=ctx.now_dt(),
        lifetime=timedelta(seconds=ctx.services.settings.refresh_token_ttl),
        login_session_id=subject.login_session_id,
    )


def record_issued(
    ctx: OAuthContext, token: dict[str, Any], client: OAuthClient, subject: Subject, family_id: str
) -> None:
    claims = unverified_claims(token["access_token"])
    refresh_token = token.get("refresh_token")
    ctx.uow.tokens.record_issued(
        jti=claims["jti"],
        client_id=client.client_id,
        user_id=subject.user.id,
        family_id=family_id,
        expires_at=to_datetime(claims["exp"]),
        refresh_token_hash=secret_hash(refresh_token) if refresh_token else None,
        now=ctx.now_dt(),
    )
