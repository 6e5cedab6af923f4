"""A registered client as Authlib sees it (``ClientMixin``)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from authlib.oauth2.rfc6749 import ClientMixin

from authserver.hashing import matches_hash
from authserver.storage.client_cache import ClientRecord

PUBLIC = "none"
# An http URI on a loopback IP literal, split into what must match and the port.
_LOOPBACK_IP_URI = re.compile(r"http://(127\.0\.0\.1|\[::1\])(?::[0-9]{1,5})?(/[^#]*)?")


def _without_loopback_port(uri: str) -> str | None:
    """``uri`` with its port taken out, if it is an http URI on 127.0.0.1 or [::1] (no
    user info, no fragment); else None."""
    match = _LOOPBACK_IP_URI.fullmatch(uri)
    if match is None:
        return None
    try:
        port = urlsplit(uri).port
    except ValueError:
        return None
    if port is not None and not 0 < port < 65536:
        return None
    return f"http://{match.group(1)}{match.group(2) or ''}"


def redirect_uri_matches(
    registered: list[str] | tuple[str, ...], redirect_uri: str, *, native: bool
) -> bool:
    """Exact string match, as registered: no prefix, no wildcard (RFC 9700 §4.1.3). The
    one exception, for native apps only (``native``: public clients): a loopback IP
    redirect URI matches on any port, since a native app listens on whatever port the OS
    gives it (RFC 8252 §7.3: the server MUST allow it). A confidential (web) client's
    loopback URI matches exactly: RFC 8252 §7.3 and RFC 9700 §2.1 make the exception
    for native clients, and another local process could listen on the other port."""
    if redirect_uri in registered:
        return True
    if not native:
        return False
    portless = _without_loopback_port(redirect_uri)
    return portless is not None and any(_without_loopback_port(r) == portless for r in registered)


class OAuthClient(ClientMixin):
    def __init__(self, record: ClientRecord) -> None:
        self.record = record
        self.client_id = record.client_id
        self.scopes = record.scope.split()

    @property
    def is_public(self) -> bool:
        return self.record.token_endpoint_auth_method == PUBLIC

    @property
    def client_metadata(self) -> dict[str, Any]:
        r = self.record
        return {
            **r.extra_metadata,
            "client_name": r.name,
            "redirect_uris": list(r.redirect_uris),
            "post_logout_redirect_uris": list(r.post_logout_redirect_uris),
            "grant_types": list(r.grant_types),
            "response_types": list(r.response_types),
            "token_endpoint_auth_method": r.token_endpoint_auth_method,
            "scope": r.scope,
        }

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        uris = self.record.redirect_uris
        return uris[0] if len(uris) == 1 else None

    def get_allowed_scope(self, scope: str | None) -> str:
        """The registered scopes the request may have: all of them when it names none,
        else the requested ones in the order asked (unknown ones are refused earlier)."""
        if not scope:
            return " ".join(self.scopes)
        allowed = set(self.scopes)
        return " ".join(s for s in dict.fromkeys(scope.split()) if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri_matches(self.record.redirect_uris, redirect_uri, native=self.is_public)

    def check_client_secret(self, client_secret: str) -> bool:
        return matches_hash(client_secret, self.record.secret_hash)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == self.record.token_endpoint_auth_method

    def check_response_type(self, response_type: str) -> bool:
        return response_type in self.record.response_types

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.record.grant_types
