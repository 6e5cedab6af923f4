"""Token preview: the access token, ID token and userinfo claims a client would get for a
user and a scope, computed by the code that issues them -- the scope rule of the grants
(``scopes.check_client_scope``), our RFC 9068 access-token generator, the OIDC ID-token
extension and ``claims.user_info`` -- with nothing issued or stored.

The only difference from a real issuance is the signing key: the preview's tokens are
signed with a throwaway key made for the preview (so nothing a verifier would accept ever
exists) and only their claims are shown. Claims that differ per issuance by nature (`jti`,
`iat`, `exp`, `at_hash`, `nonce`, `sid`) are shown as a preview would issue them now."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from joserfc.jwk import KeySet, RSAKey

from authserver.oauth.claims import user_info
from authserver.oauth.client import OAuthClient
from authserver.oauth.context import OAuthContext
from authserver.oauth.oidc import IdTokenForCode
from authserver.oauth.requests import RequestMeta
from authserver.oauth.scopes import OPENID, check_client_scope
from authserver.oauth.subject import Subject
from authserver.oauth.tokens import AccessTokenGenerator, unverified_claims
from authserver.services import Services
from authserver.storage.db import UnitOfWork
from authserver.storage.models import Client, User

GRANT_TYPE = "authorization_code"


@dataclass(frozen=True)
class TokenPreview:
    scope: str
    access_token: dict[str, Any]
    id_token: dict[str, Any] | None
    userinfo: dict[str, Any] | None


def _throwaway_keys() -> KeySet:
    key = RSAKey.generate_key(2048, parameters={"use": "sig", "alg": "RS256"})
    key.ensure_kid()
    return KeySet([key])


class _PreviewAccessTokens(AccessTokenGenerator):
    def __init__(self, services: Services, keys: KeySet) -> None:
        super().__init__(services.settings, services.keys)
        self.preview_keys = keys

    def get_jwks(self) -> KeySet:
        return self.preview_keys


class _PreviewIdTokens(IdTokenForCode):
    def __init__(self, ctx: OAuthContext, keys: KeySet) -> None:
        super().__init__(SimpleNamespace(ctx=ctx))
        self.preview_keys = keys

    def resolve_client_private_key(self, client: OAuthClient) -> KeySet:
        return self.preview_keys


def preview(
    uow: UnitOfWork,
    services: Services,
    client: Client,
    user: User,
    scope: str | None,
    methods: Sequence[str] = ("pwd",),
) -> TokenPreview:
    """What an authorization-code login of ``user`` at ``client`` asking for ``scope``
    (None: every registered scope) with ``methods`` (RFC 8176) would issue now. Raises
    Authlib's ``InvalidScopeError`` where the token endpoint would."""
    oauth_client = OAuthClient(client)
    granted = check_client_scope(oauth_client, scope, user_roles=user.roles)
    subject = Subject(user, auth_time=int(services.clock.now()), amr=tuple(sorted(methods)))
    keys = _throwaway_keys()
    generator = _PreviewAccessTokens(services, keys)
    token = generator.generate(
        GRANT_TYPE, oauth_client, user=subject, scope=granted, include_refresh_token=False
    )
    access = unverified_claims(token["access_token"])
    if OPENID not in granted.split():
        return TokenPreview(granted, access, None, None)
    ctx = OAuthContext(uow, services, RequestMeta())
    request = SimpleNamespace(client=oauth_client, user=subject, authorization_code=None)
    id_token = _PreviewIdTokens(ctx, keys).encode_id_token(token, request)  # type: ignore[arg-type]
    return TokenPreview(
        granted, access, unverified_claims(id_token), dict(user_info(user, granted))
    )
