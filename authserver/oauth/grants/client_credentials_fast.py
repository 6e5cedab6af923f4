"""client_credentials without Authlib's request machinery, for the plain case only.

Every service calls /token with client_credentials, and the signature is most of what the
answer has to cost; Authlib's request, grant and client-authentication objects cost a
third on top (bench/README.md). This module answers the one shape that is nearly all of
that traffic: ``grant_type=client_credentials`` (and ``scope``), HTTP Basic or form
credentials of a client whose registration is cached, authenticating with its secret,
registered for the grant, asking for scopes it may have. The token comes from the same
generator (``oauth.tokens``) with the same scope rule (``scopes.check_client_scope``).

Anything else -- an unknown or uncached client, a wrong secret, another method, another
parameter, a refused scope, a malformed header -- returns ``None`` and the request takes
the full path (``endpoints.token``), which gives every error and audits what it audits.
(Authlib also refuses an insecure transport, RFC 6749 §3.2; the issuer's scheme is
checked at start-up by the same rule, ``settings.find_problems``.)
So this module only ever says yes; ``tests/oauth/test_client_credentials_fast.py`` sends
the same random requests down both paths and requires the same answers.
"""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc6749 import InvalidClientError, OAuth2Error

from authserver.hashing import matches_hash
from authserver.oauth import client_auth
from authserver.oauth.client import OAuthClient
from authserver.oauth.scopes import check_client_scope
from authserver.oauth.tokens import AccessTokenGenerator
from authserver.storage.client_cache import ClientCache

GRANT_TYPE = "client_credentials"
# The parameters of a plain request; any other takes the full path. Both paths ignore
# parameters they do not know today (RFC 6749 §3.2: MUST ignore unrecognized ones); this
# path still declines them, so that none the full path learns to honour is skipped here.
BASIC_PARAMS = frozenset({"grant_type", "scope"})
POST_PARAMS = frozenset({"grant_type", "scope", "client_id", "client_secret"})


def plain_token(
    clients: ClientCache,
    generator: AccessTokenGenerator,
    form: dict[str, str],
    authorization: str | None,
) -> dict[str, Any] | None:
    """The token response body of a plain client_credentials request, or None when the
    request is anything but plain (the full path answers it)."""
    if form.get("grant_type") != GRANT_TYPE:
        return None
    credentials = _credentials(form, authorization)
    if credentials is None:
        return None
    method, client_id, secret = credentials
    record = clients.peek(client_id)
    if (
        record is None
        or record.token_endpoint_auth_method != method
        or GRANT_TYPE not in record.grant_types
        # Compared in constant time; a wrong secret is answered by the full path, which
        # compares again and refuses it (RFC 6749 §5.2 invalid_client).
        or not matches_hash(secret, record.secret_hash)
    ):
        return None
    client = OAuthClient(record)
    try:
        scope = check_client_scope(client, form.get("scope"), user_roles=None)
    except OAuth2Error:
        return None
    token: dict[str, Any] = generator.generate(
        GRANT_TYPE, client, scope=scope, include_refresh_token=False
    )
    return token


def _credentials(form: dict[str, str], authorization: str | None) -> tuple[str, str, str] | None:
    """(method, client_id, secret) of a request that uses exactly one secret method."""
    if authorization is not None:
        if not form.keys() <= BASIC_PARAMS:
            return None
        try:
            basic = client_auth.parse_basic(authorization)
        except InvalidClientError:
            return None
        return None if basic is None else ("client_secret_basic", *basic)
    if not form.keys() <= POST_PARAMS:
        return None
    client_id, secret = form.get("client_id"), form.get("client_secret")
    if not client_id or secret is None:
        return None
    return "client_secret_post", client_id, secret
