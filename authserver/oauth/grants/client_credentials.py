"""client_credentials (RFC 6749 §4.4): a confidential client, for itself. Nothing is
stored: the token is a self-contained JWT and revocation goes through the deny list."""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc6749 import UnauthorizedClientError, grants

from authserver.oauth import client_auth
from authserver.oauth.scopes import check_client_scope


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    # RFC 6749 §4.4: "The client credentials grant type MUST only be used by
    # confidential clients" -- so no "none".
    TOKEN_ENDPOINT_AUTH_METHODS = client_auth.CONFIDENTIAL

    def validate_token_request(self) -> None:
        client = self.authenticate_token_endpoint_client()
        if not client.check_grant_type(self.GRANT_TYPE):
            raise UnauthorizedClientError("The client may not use this grant type.")
        self.request.client = client
        self.request.scope = check_client_scope(client, self.request.payload.scope, user_roles=None)

    def create_token_response(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        token = self.generate_token(scope=self.request.scope, include_refresh_token=False)
        return 200, token, self.TOKEN_RESPONSE_HEADER
