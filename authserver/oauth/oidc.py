"""ID tokens (OIDC Core §2, §3.1.3.6) for the code and refresh grants.

Claims: `iss`, `sub`, `aud` (the client id, a string: RP-initiated logout resolves the
client from it), `azp`, `iat`, `exp` (settings.id_token_ttl), `auth_time` and `sid` of the
login session (kept across refreshes), `nonce` from the code, `at_hash`, and the user's
claims allowed by the scope. Signed RS256 with the active key, its `kid` in the header."""

from __future__ import annotations

import time
from typing import Any

from authlib.oauth2.rfc6749 import OAuth2Request
from authlib.oidc.core import OpenIDCode, OpenIDToken, UserInfo
from joserfc.jwk import KeySet

from authserver.mfa import policy
from authserver.oauth import claims
from authserver.oauth.client import OAuthClient
from authserver.oauth.subject import Subject


class _IdTokenClaims:
    """What both extensions share; they belong to one server and read the request it
    serves from it."""

    server: Any

    @property
    def ctx(self) -> Any:
        return self.server.ctx

    def resolve_client_private_key(self, client: OAuthClient) -> KeySet:
        return self.ctx.services.keys.snapshot().require_signing_keyset()

    def get_client_algorithm(self, client: OAuthClient) -> str:
        return "RS256"

    def get_compatible_claims(self, request: OAuth2Request) -> dict[str, Any]:
        now = int(time.time())
        subject: Subject = request.user
        client_id = request.client.get_client_id()
        out: dict[str, Any] = {
            "iss": self.ctx.services.settings.issuer,
            "aud": client_id,
            "azp": client_id,
            "iat": now,
            "exp": now + self.ctx.services.settings.id_token_ttl,
            "auth_time": subject.auth_time,
        }
        if subject.login_session_id:
            out["sid"] = subject.login_session_id
        if subject.amr:
            out["amr"] = list(subject.amr)
            # OIDC Core §2: the level the authentication performed satisfied.
            out["acr"] = policy.acr_of(subject.amr)
        return out

    def generate_user_info(self, user: Subject, scope: str) -> UserInfo:
        return claims.user_info(user.user, scope)


class IdTokenForCode(_IdTokenClaims, OpenIDCode):
    def __init__(self, server: Any) -> None:
        super().__init__(require_nonce=False)
        self.server = server

    def exists_nonce(self, nonce: str, request: OAuth2Request) -> bool:
        """Only nonces bound to codes already issued count as replays (AUTHLIB.md §5.4:
        this runs at every validation of the same request, so it must not record)."""
        return self.ctx.uow.codes.nonce_used(request.payload.client_id, nonce)


class IdTokenForRefresh(_IdTokenClaims, OpenIDToken):
    def __init__(self, server: Any) -> None:
        self.server = server
