"""RP-initiated logout 1.0: checking what the relying party sent to /logout.

`id_token_hint` must be an ID token we signed (an expired one is fine, §2); the client is
the hint's `aud` or `client_id` (they must agree); `post_logout_redirect_uri` is honoured
only when it exactly matches one the client registered (§3) -- otherwise no redirect."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from authserver.storage.client_cache import ClientRecord


class LogoutRequestError(Exception):
    """The request cannot be honoured as sent; the message is safe to show."""


@dataclass(frozen=True)
class LogoutRequest:
    hint: dict[str, Any] | None
    client: ClientRecord | None
    redirect_uri: str | None
    state: str | None

    @property
    def hinted_user(self) -> str | None:
        return str(self.hint["sub"]) if self.hint and "sub" in self.hint else None


def verify_id_token_hint(token: str, keys: KeySet, issuer: str) -> dict[str, Any]:
    if len(token) > 8192:
        raise LogoutRequestError("The id_token_hint is not valid.")
    try:
        decoded = jwt.decode(token, keys, algorithms=["RS256"])
    except (JoseError, ValueError, TypeError, KeyError):
        raise LogoutRequestError("The id_token_hint is not valid.") from None
    if str(decoded.header.get("typ", "JWT")).lower() in ("at+jwt", "application/at+jwt"):
        raise LogoutRequestError("The id_token_hint is an access token, not an ID token.")
    if decoded.claims.get("iss") != issuer or "sub" not in decoded.claims:
        raise LogoutRequestError("The id_token_hint was not issued by this server.")
    return dict(decoded.claims)


def _audience(claims: dict[str, Any]) -> str | None:
    aud = claims.get("aud")
    if isinstance(aud, list):
        return aud[0] if len(aud) == 1 and isinstance(aud[0], str) else None
    return aud if isinstance(aud, str) else None


def parse(params: dict[str, str], keys: KeySet, issuer: str, find_client: Any) -> LogoutRequest:
    hint = None
    if params.get("id_token_hint"):
        hint = verify_id_token_hint(params["id_token_hint"], keys, issuer)
    client_id = params.get("client_id")
    if hint is not None:
        aud = _audience(hint)
        if client_id and aud != client_id:
            raise LogoutRequestError("client_id does not match the id_token_hint.")
        client_id = client_id or aud
    client = find_client(client_id) if client_id else None
    if client_id and client is None:
        raise LogoutRequestError("Unknown client.")
    redirect_uri = params.get("post_logout_redirect_uri")
    # §3: the OP MUST NOT redirect to a URI not registered for the client; without a
    # hint or a client_id there is no client to look the URI up for.
    if redirect_uri is not None and client is None:
        raise LogoutRequestError(
            "post_logout_redirect_uri needs an id_token_hint or a client_id to say "
            "which application it belongs to."
        )
    if redirect_uri is not None and redirect_uri not in client.post_logout_redirect_uris:
        raise LogoutRequestError("post_logout_redirect_uri is not registered for the client.")
    return LogoutRequest(hint, client, redirect_uri, params.get("state"))
