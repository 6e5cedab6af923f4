"""Access tokens: RFC 9068 JWTs signed RS256 with the active key's `kid`; and verifying
our own tokens (introspection, revocation, userinfo)."""

from __future__ import annotations

import base64
import json
from typing import Any

from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from authserver.accounts.roles import DEFAULT_ROLE, primary_role
from authserver.hashing import new_secret
from authserver.keys.keyring import KeyRing
from authserver.mfa import policy
from authserver.oauth.client import OAuthClient
from authserver.oauth.subject import Subject
from authserver.settings import Settings

ACCESS_TOKEN_TYP = "at+jwt"


def new_refresh_token(**kwargs: Any) -> str:
    """Opaque, 256 bits from `secrets` (DESIGN.md: refresh tokens); the one reserved for
    the subject, when the grant chose it before (a rotation stores it with its claim)."""
    user = kwargs.get("user")
    reserved = user.reserved_refresh_token if isinstance(user, Subject) else None
    return reserved or new_secret(32)


def new_jti() -> str:
    return new_secret(18)


class AccessTokenGenerator(JWTBearerTokenGenerator):
    """Authlib's RFC 9068 generator with our keys, lifetimes, audience and user claims."""

    def __init__(self, settings: Settings, keys: KeyRing) -> None:
        super().__init__(
            issuer=settings.issuer,
            alg="RS256",
            refresh_token_generator=new_refresh_token,
            expires_generator=settings.access_token_ttl,
        )
        self.keys = keys
        self.default_audience = settings.audience

    def get_jwks(self) -> KeySet:
        return self.keys.snapshot().require_signing_keyset()

    def get_audiences(
        self, client: OAuthClient, user: Subject | None, scope: str
    ) -> str | list[str]:
        audience = client.record.audience
        if not audience:
            return self.default_audience
        return audience[0] if len(audience) == 1 else list(audience)

    def get_jti(
        self, client: OAuthClient, grant_type: str, user: Subject | None, scope: str
    ) -> str:
        if user is not None and user.reserved_jti:
            return user.reserved_jti  # chosen before, stored with the claim
        return new_jti()

    def get_auth_time(self, user: Subject | None) -> int | None:
        return user.auth_time if user else None

    def get_extra_claims(
        self, client: OAuthClient, grant_type: str, user: Subject | None, scope: str
    ) -> dict[str, Any]:
        if user is None:
            return {}
        roles = list(user.user.roles or [DEFAULT_ROLE])
        # `email` and `role`: the claims resource servers of the original service read.
        extra: dict[str, Any] = {
            "email": user.user.email,
            "role": primary_role(roles),
            "roles": roles,
        }
        if user.amr:
            # RFC 8176 / RFC 9068 §2.2.1: how the user authenticated, for APIs that
            # demand a second factor.
            extra["amr"] = list(user.amr)
            extra["acr"] = policy.acr_of(user.amr)
        return extra


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2


def unverified_claims(token: str) -> dict[str, Any]:
    """The payload of a JWT we have just signed ourselves (no verification needed)."""
    payload = token.split(".")[1]
    claims: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return claims


def verify_access_token(
    token: str, keyset: KeySet, issuer: str, now: float, *, check_expiry: bool = True
) -> dict[str, Any] | None:
    """The claims of a well-formed, correctly signed access token of ours, else None.

    Checks the RS256 signature against our published keys (by `kid`), `typ: at+jwt`
    (RFC 9068 §4), `iss`, and unless told not to, `exp` (no leeway: we are the issuer)."""
    if len(token) > 8192 or not looks_like_jwt(token):
        return None
    try:
        decoded = jwt.decode(token, keyset, algorithms=["RS256"])
    except (JoseError, ValueError, TypeError, KeyError):
        return None
    header, claims = decoded.header, decoded.claims
    if str(header.get("typ", "")).lower() not in (ACCESS_TOKEN_TYP, "application/at+jwt"):
        return None
    if claims.get("iss") != issuer or not isinstance(claims.get("jti"), str):
        return None
    exp = claims.get("exp")
    if not isinstance(exp, int | float):
        return None
    if check_expiry and exp <= now:
        return None
    return dict(claims)
