"""Client authentication with ``private_key_jwt`` (RFC 7523 §2.2, OIDC Core §9): the client
signs a short-lived JWT with its private key; we verify it with the keys it registered.

Authlib's ``JWTBearerClientAssertion`` checks the signature and the claims (`iss` = `sub`
= client_id, `aud`, `exp`); we supply the audiences, the client's keys, and one-time use of
each `jti` (RFC 7523 §3 item 7) shared by all processes through the deny-list store."""

from __future__ import annotations

import hashlib
from typing import Any

from authlib.oauth2.rfc6749 import InvalidClientError
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from authserver.oauth.client import OAuthClient
from authserver.oauth.context import OAuthContext

MAX_ASSERTION_LIFETIME = 600


class PrivateKeyJwt(JWTBearerClientAssertion):
    CLIENT_AUTH_METHOD = "private_key_jwt"

    def __init__(self, ctx: OAuthContext) -> None:
        super().__init__(validate_jti=True, leeway=60)
        self.ctx = ctx
        issuer = ctx.services.settings.issuer
        # The token endpoint URL (OIDC Core §9) or the issuer (RFC 7523 §3) name us; the
        # assertion is also accepted at /revoke and /introspect (RFC 8414 §2).
        self.audiences = [issuer, f"{issuer}/token", f"{issuer}/revoke", f"{issuer}/introspect"]

    def __call__(self, query_client: Any, request: Any) -> OAuthClient | None:
        assertion = request.form.get("client_assertion")
        if assertion is not None and len(assertion) > 8192:
            raise InvalidClientError(status_code=401, description="Client authentication failed.")
        try:
            return super().__call__(query_client, request)
        except (JoseError, ValueError, KeyError, OSError) as exc:
            raise InvalidClientError(
                status_code=401, description="Client authentication failed."
            ) from exc

    def get_audiences(self) -> list[str]:
        return self.audiences

    def resolve_client_public_key(self, client: OAuthClient) -> KeySet:
        record = client.record
        if record.token_endpoint_auth_method != self.CLIENT_AUTH_METHOD:
            raise InvalidClientError(status_code=401, description="Client authentication failed.")
        if record.jwks:
            return KeySet.import_key_set(record.jwks)
        if record.jwks_uri:
            return self.ctx.services.remote_jwks.get(record.jwks_uri)
        raise InvalidClientError(status_code=401, description="Client authentication failed.")

    def validate_jti(self, claims: dict[str, Any], jti: str) -> bool:
        exp, iat = claims.get("exp"), claims.get("iat", claims.get("exp"))
        if not isinstance(exp, int | float) or exp - (iat or exp) > MAX_ASSERTION_LIFETIME:
            return False
        key = "assertion:" + hashlib.sha256(f"{claims['iss']}\0{jti}".encode()).hexdigest()[:50]
        ctx = self.ctx
        return ctx.services.denylist.use_once(ctx.uow, key, float(exp) + self.leeway)
