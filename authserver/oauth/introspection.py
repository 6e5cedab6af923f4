"""Token introspection (RFC 7662), for authenticated confidential clients.

RFC 7662 §4: the server must keep clients from scanning for tokens. A confidential
client may introspect an access token issued to it or whose ``aud`` names it; a resource
server registered with ``allow_introspection`` may introspect any access token (what an
API is sent need not name it: the default audience is the issuer). A refresh token only
by the client it was issued to. Expired, revoked, denied, malformed, foreign or unknown
tokens, and tokens the caller may not see, all answer ``{"active": false}`` (§2.2)."""

from __future__ import annotations

from typing import Any

from authlib.oauth2 import rfc7662

from authserver.oauth import client_auth
from authserver.oauth.client import OAuthClient
from authserver.oauth.token_lookup import (
    AccessTokenView,
    RefreshTokenView,
    check_token_params,
    find_token,
)


class IntrospectionEndpoint(rfc7662.IntrospectionEndpoint):
    CLIENT_AUTH_METHODS = client_auth.CONFIDENTIAL

    def check_params(self, request: Any, client: OAuthClient) -> None:
        check_token_params(request.form)

    def query_token(
        self, token_string: str, token_type_hint: str | None
    ) -> AccessTokenView | RefreshTokenView | None:
        return find_token(self.server.ctx, token_string)

    def check_permission(
        self, token: AccessTokenView | RefreshTokenView, client: OAuthClient, request: Any
    ) -> bool:
        if isinstance(token, RefreshTokenView):
            return token.check_client(client)
        if client.is_public:
            return False
        return (
            client.record.allow_introspection
            or token.check_client(client)
            or token.names_audience(client.client_id)
        )

    def introspect_token(self, token: AccessTokenView | RefreshTokenView) -> dict[str, Any]:
        return token.introspection()
