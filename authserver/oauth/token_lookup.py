"""Finding a presented token (access JWT or opaque refresh token) and its live state:
the one place that decides whether a token of ours is still good. Introspection,
revocation and userinfo all ask here, so they honour the same revocations: the deny
list, a revoked family, a disabled user, `tokens_valid_after`, a deleted client."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from authlib.oauth2.rfc6749 import InvalidRequestError, OAuth2Error

from authserver.clock import to_timestamp
from authserver.hashing import secret_hash
from authserver.oauth.client import OAuthClient
from authserver.oauth.context import OAuthContext
from authserver.oauth.tokens import looks_like_jwt, verify_access_token
from authserver.storage.models import User
from authserver.storage.tokens import FamilyRow, TokenRow

MAX_TOKEN_CHARS = 8192
TOKEN_TYPES = ("access_token", "refresh_token")


class UnsupportedTokenTypeError(OAuth2Error):
    """RFC 7009 §2.2.1 / RFC 7662: an RFC 6749 §5.2 error, so 400 (Authlib's is a 401)."""

    error = "unsupported_token_type"
    status_code = 400


def check_token_params(form: dict[str, str]) -> None:
    """The parameters of /revoke and /introspect: ``token`` required, a known hint."""
    if not form.get("token"):
        raise InvalidRequestError("The token parameter is required.")
    hint = form.get("token_type_hint")
    if hint and hint not in TOKEN_TYPES:
        raise UnsupportedTokenTypeError()


@dataclass
class AccessTokenView:
    claims: dict[str, Any]
    expired: bool
    revoked: bool
    kind = "access_token"

    def check_client(self, client: OAuthClient) -> bool:
        return self.claims.get("client_id") == client.client_id

    def names_audience(self, audience: str) -> bool:
        aud = self.claims.get("aud")
        return aud == audience or (isinstance(aud, list) and audience in aud)

    def is_expired(self) -> bool:
        return self.expired

    def is_revoked(self) -> bool:
        return self.revoked

    def introspection(self) -> dict[str, Any]:
        c = self.claims
        out = {
            "active": True,
            "token_type": "Bearer",
            **{
                k: c[k]
                for k in ("scope", "client_id", "sub", "aud", "iss", "exp", "iat", "jti")
                if k in c
            },
        }
        if "email" in c:
            out["username"] = c["email"]
        return out


@dataclass
class RefreshTokenView:
    token: TokenRow
    family: FamilyRow
    user: User
    now: float
    kind = "refresh_token"

    def check_client(self, client: OAuthClient) -> bool:
        return self.family.client_id == client.client_id

    def get_scope(self) -> str:
        return self.family.scope

    def is_expired(self) -> bool:
        return to_timestamp(self.family.expires_at) <= self.now

    def is_revoked(self) -> bool:
        return self.family.revoked_at is not None or self.token.used_at is not None

    def introspection(self) -> dict[str, Any]:
        return {
            "active": True,
            "token_type": "refresh_token",
            "scope": self.family.scope,
            "client_id": self.family.client_id,
            "sub": self.family.user_id,
            "exp": int(to_timestamp(self.family.expires_at)),
            "iat": int(to_timestamp(self.token.created_at)),
        }


def access_token_revoked(ctx: OAuthContext, claims: dict[str, Any]) -> bool:
    """Whether a correctly signed access token has been revoked since it was issued."""
    if ctx.services.denylist.is_denied(ctx.uow, claims["jti"]):
        return True
    state = ctx.uow.tokens.access_token_state(
        claims["jti"], str(claims.get("sub", "")), str(claims.get("client_id", ""))
    )
    if not state.subject_exists or state.user_disabled or state.family_revoked:
        return True
    iat = claims.get("iat")
    return not isinstance(iat, int | float) or iat < state.tokens_valid_after


def find_access_token(
    ctx: OAuthContext, token: str, *, with_expired: bool
) -> AccessTokenView | None:
    keyset = ctx.services.keys.snapshot().public_keyset
    now = ctx.now()
    claims = verify_access_token(
        token, keyset, ctx.services.settings.issuer, now, check_expiry=not with_expired
    )
    if claims is None:
        return None
    expired = claims["exp"] <= now
    revoked = False if expired else access_token_revoked(ctx, claims)
    return AccessTokenView(claims, expired=expired, revoked=revoked)


def find_refresh_token(ctx: OAuthContext, token: str) -> RefreshTokenView | None:
    found = ctx.uow.tokens.find_refresh_token(secret_hash(token))
    if found is None:
        return None
    return RefreshTokenView(found.token, found.family, found.user, ctx.now())


def find_token(
    ctx: OAuthContext, token: str, *, with_expired: bool = False
) -> AccessTokenView | RefreshTokenView | None:
    """Either kind; a `token_type_hint` is only a hint (RFC 7009 §2.1, RFC 7662 §2.1),
    and the two kinds cannot be confused: access tokens are JWTs, refresh tokens not."""
    if not token or len(token) > MAX_TOKEN_CHARS:
        return None
    if looks_like_jwt(token):
        return find_access_token(ctx, token, with_expired=with_expired)
    return find_refresh_token(ctx, token)
