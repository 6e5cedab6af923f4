"""Client authentication at the token, revocation and introspection endpoints.

Replaces Authlib's built-in methods to (1) parse HTTP Basic strictly (RFC 6749 §2.3.1:
form-urlencoded id and secret, base64, UTF-8), (2) answer an unknown client and a wrong
secret alike, and (3) refuse a request that uses two methods at once (RFC 6749 §2.3).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from urllib.parse import unquote_plus

from authlib.oauth2.rfc6749 import InvalidClientError, InvalidRequestError, OAuth2Request

from authserver.hashing import matches_hash
from authserver.oauth.client import OAuthClient

QueryClient = Callable[[str], OAuthClient | None]
FAILED = "Client authentication failed."
# A digest no secret hashes to, compared when the client does not exist.
_NO_SUCH_SECRET = "0" * 64


def basic_credentials(request: OAuth2Request) -> tuple[str, str] | None:
    """(client_id, secret) from ``Authorization: Basic``; None without such a header.
    Raises ``InvalidClientError`` (401) when the header is there but malformed."""
    return parse_basic(request.headers.get("Authorization"))


def parse_basic(header: str | None) -> tuple[str, str] | None:
    """``basic_credentials`` of an ``Authorization`` header's value."""
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise InvalidClientError(status_code=401, description=FAILED) from None
    client_id, sep, secret = decoded.partition(":")
    if not sep or not client_id:
        raise InvalidClientError(status_code=401, description=FAILED)
    return unquote_plus(client_id), unquote_plus(secret)


def _check_secret(query_client: QueryClient, client_id: str, secret: str) -> OAuthClient | None:
    client = query_client(client_id)
    if client is None:
        matches_hash(secret, _NO_SUCH_SECRET)
        return None
    return client if client.check_client_secret(secret) else None


def client_secret_basic(query_client: QueryClient, request: OAuth2Request) -> OAuthClient | None:
    creds = basic_credentials(request)
    if creds is None:
        return None
    client = _check_secret(query_client, *creds)
    if client is None:
        raise InvalidClientError(status_code=401, description=FAILED)
    return client


def client_secret_post(query_client: QueryClient, request: OAuth2Request) -> OAuthClient | None:
    client_id = request.form.get("client_id")
    secret = request.form.get("client_secret")
    if not client_id or secret is None or basic_credentials(request) is not None:
        return None
    client = _check_secret(query_client, client_id, secret)
    if client is None:
        raise InvalidClientError(status_code=401, description=FAILED)
    return client


def none(query_client: QueryClient, request: OAuth2Request) -> OAuthClient | None:
    client_id = request.form.get("client_id")
    if not client_id or "client_secret" in request.form or "Authorization" in request.headers:
        return None
    return query_client(client_id)


def reject_multiple_methods(request: OAuth2Request) -> None:
    """RFC 6749 §2.3: the client MUST NOT use more than one authentication method."""
    if "client_secret" in request.form and basic_credentials(request) is not None:
        raise InvalidRequestError("More than one client authentication method used.")


# Methods by kind of client; grants and endpoints accept these lists.
CONFIDENTIAL = ["client_secret_basic", "client_secret_post", "private_key_jwt"]
ANY = [*CONFIDENTIAL, "none"]

METHODS = {
    "client_secret_basic": client_secret_basic,
    "client_secret_post": client_secret_post,
    "none": none,
}
