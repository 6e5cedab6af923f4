"""Client authentication with ``private_key_jwt`` (RFC 7523 §2.2, OIDC Core §9): the client
signs a short-lived JWT with its private key; we verify it with the keys it registered.

Authlib's ``JWTBearerClientAssertion`` checks the signature and the claims (`iss` = `sub`
= client_id, `aud`, `exp`); we supply the audiences, the client's keys, and one-time use of
each `jti` (RFC 7523 §3 item 7) shared by all processes through the deny-list store.

Assertions are verified only with the asymmetric algorithms of ``ASSERTION_ALGS``, which
discovery advertises: the keys are public, so an HMAC over one (HS256 with an ``oct`` key
published at a jwks_uri) would let anyone forge an assertion."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from authlib.oauth2.rfc6749 import InvalidClientError
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import GuestProtocol, KeySet

from authserver.jsonsafe import compact_jwt_is_shallow
from authserver.keys.remote import JwksUnavailable, public_signing_keys
from authserver.oauth.client import OAuthClient
from authserver.oauth.context import OAuthContext

MAX_ASSERTION_LIFETIME = 600
# The `alg`s an assertion may use, advertised as the *_endpoint_auth_signing_alg_values_
# supported (RFC 8414 §2; "none" MUST NOT be among them) and the only ones verified.
ASSERTION_ALGS = ("RS256", "PS256", "ES256")
FAILED = "Client authentication failed."


def _is_time(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class PrivateKeyJwt(JWTBearerClientAssertion):
    CLIENT_AUTH_METHOD = "private_key_jwt"

    def __init__(self, server: Any) -> None:
        """``server``: the ``AuthServer`` this belongs to, and whose request it reads."""
        super().__init__(validate_jti=True, leeway=60)
        self.server = server
        issuer = server.services.settings.issuer
        # The token endpoint URL (OIDC Core §9) or the issuer (RFC 7523 §3) name us; the
        # assertion is also accepted at /revoke and /introspect (RFC 8414 §2).
        self.audiences = [issuer, f"{issuer}/token", f"{issuer}/revoke", f"{issuer}/introspect"]

    def __call__(self, query_client: Any, request: Any) -> OAuthClient | None:
        assertion = request.form.get("client_assertion")
        # Authlib parses the payload before anything is verified (to find the client);
        # joserfc itself parses only headers under 512 bytes, and payloads once verified.
        if assertion is not None and (
            len(assertion) > 8192 or not compact_jwt_is_shallow(assertion)
        ):
            raise InvalidClientError(status_code=401, description=FAILED)
        try:
            return super().__call__(query_client, request)
        except (JoseError, ValueError, KeyError, JwksUnavailable) as exc:
            raise InvalidClientError(status_code=401, description=FAILED) from exc

    @property
    def ctx(self) -> OAuthContext:
        ctx: OAuthContext = self.server.ctx
        return ctx

    def get_audiences(self) -> list[str]:
        return self.audiences

    def process_assertion_claims(
        self, assertion: str, resolve_key: Callable[[GuestProtocol], KeySet]
    ) -> dict[str, Any]:
        # RFC 7523 §3 item 9: the JWT MUST be signed and one with an invalid signature
        # MUST be rejected; a MAC under a published key proves nothing. Authlib's version
        # decodes without an `algorithms` list (joserfc's defaults, HS256 among them);
        # this one differs only in passing ours.
        try:
            token = jwt.decode(assertion, resolve_key, algorithms=ASSERTION_ALGS)
        except JoseError as exc:
            raise InvalidClientError(status_code=401, description=FAILED) from exc
        self.verify_claims(token.claims)
        return token.claims

    def resolve_client_public_key(self, client: OAuthClient) -> Callable[[GuestProtocol], KeySet]:
        """The client's keys, resolved once the assertion's header is known: an unknown
        `kid` is how a verifier learns to fetch the jwks_uri again (OIDC Core §10.1.1)."""
        record = client.record
        if record.token_endpoint_auth_method != self.CLIENT_AUTH_METHOD:
            raise InvalidClientError(status_code=401, description=FAILED)
        services = self.ctx.services

        def keys(token: GuestProtocol) -> KeySet:
            if record.jwks:
                return public_signing_keys(record.jwks)
            if record.jwks_uri:
                kid = token.headers().get("kid")
                return services.remote_jwks.get(
                    record.jwks_uri,
                    kid if isinstance(kid, str) else None,
                    now=services.clock.now(),
                    allow_private_networks=services.settings.jwks_uri_allow_private_networks,
                )
            raise InvalidClientError(status_code=401, description=FAILED)

        return keys

    def verify_claims(self, claims: Any) -> None:
        self.check_lifetime(claims)
        super().verify_claims(claims)

    def check_lifetime(self, claims: dict[str, Any]) -> None:
        """An assertion is short-lived (RFC 7523 §3 items 4 and 6): `exp` is required and
        at most ``MAX_ASSERTION_LIFETIME`` ahead; an `iat`, when sent, is a number neither
        in the future nor older than that. So a `jti` is remembered for minutes, not for
        whatever lifetime a client (or a thief of its key) writes into the assertion."""
        now, slack = self.ctx.now(), self.leeway
        exp, iat = claims.get("exp"), claims.get("iat")
        if not _is_time(exp) or exp - now > MAX_ASSERTION_LIFETIME + slack:
            raise InvalidClientError(status_code=401, description=FAILED)
        if "iat" in claims and (
            not _is_time(iat) or iat > now + slack or now - iat > MAX_ASSERTION_LIFETIME + slack
        ):
            raise InvalidClientError(status_code=401, description=FAILED)

    def validate_jti(self, claims: dict[str, Any], jti: str) -> bool:
        # check_lifetime ran first: exp is a time at most minutes ahead.
        exp = claims["exp"]
        key = "assertion:" + hashlib.sha256(f"{claims['iss']}\0{jti}".encode()).hexdigest()[:50]
        ctx = self.ctx
        return ctx.services.denylist.use_once(ctx.uow, key, float(exp) + self.leeway)
