"""Token revocation (RFC 7009).

A refresh token revokes its whole family (§2.1: the server SHOULD also invalidate the
access tokens of the same grant); an access token goes on the `jti` deny list until it
expires. Unknown, invalid or expired tokens answer 200 like any other (§2.2)."""

from __future__ import annotations

from typing import Any

from authlib.oauth2 import rfc7009

from authserver.audit import AuditEvent
from authserver.oauth import client_auth
from authserver.oauth.client import OAuthClient
from authserver.oauth.token_lookup import (
    AccessTokenView,
    RefreshTokenView,
    check_token_params,
    find_token,
)


class RevocationEndpoint(rfc7009.RevocationEndpoint):
    # Public clients must be able to revoke their own refresh tokens.
    CLIENT_AUTH_METHODS = client_auth.ANY

    def check_params(self, request: Any, client: OAuthClient) -> None:
        check_token_params(request.form)

    def query_token(
        self, token_string: str, token_type_hint: str | None
    ) -> AccessTokenView | RefreshTokenView | None:
        return find_token(self.server.ctx, token_string, with_expired=True)

    def revoke_token(self, token: AccessTokenView | RefreshTokenView, request: Any) -> None:
        ctx = self.server.ctx
        if isinstance(token, AccessTokenView):
            if not token.is_expired():
                ctx.services.denylist.deny(ctx.uow, token.claims["jti"], token.claims["exp"])
            user_id = (
                token.claims.get("sub")
                if token.claims.get("sub") != request.client.client_id
                else None
            )
            ctx.audit(
                AuditEvent.TOKEN_REVOKED,
                user_id=user_id,
                client_id=request.client.client_id,
                kind="access_token",
                jti=token.claims["jti"],
            )
            return
        if ctx.uow.tokens.revoke_family(token.family.id, "revoked", ctx.now_dt()):
            ctx.audit(
                AuditEvent.TOKEN_REVOKED,
                user_id=token.family.user_id,
                client_id=token.family.client_id,
                kind="refresh_token",
                family_id=token.family.id,
            )
