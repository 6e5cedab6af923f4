"""Validating an upstream's ID token (OpenID Connect Core §3.1.3.7) as strictly as we
validate our own clients: signature by a key the upstream publishes, with an algorithm
its discovery document names (never `none`, never HMAC), `iss`, `aud` / `azp`, `exp`,
`iat`, `nonce`."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import extract_compact

from authserver.federation.metadata import SIGNING_ALGS

LEEWAY = 60
# An ID token older than this (by `iat`) is refused even if its `exp` is far ahead.
MAX_AGE = 600


class IdTokenRejected(Exception):
    """The ID token must not be trusted; ``reason`` is a short code for the audit log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _header(token: str) -> dict[str, Any]:
    try:
        return dict(extract_compact(token.encode()).protected)
    except (JoseError, ValueError, TypeError, UnicodeError):
        raise IdTokenRejected("id_token_malformed") from None


def verify(
    token: Any,
    *,
    keys: Callable[[str | None], KeySet],
    algorithms: tuple[str, ...],
    check_issuer: Callable[[Any, dict[str, Any]], bool],
    client_id: str,
    nonce: str,
    now: float,
) -> dict[str, Any]:
    """The claims of a valid ID token, else ``IdTokenRejected``. ``keys(kid)`` gives the
    upstream's key set (refetched for an unknown kid); ``check_issuer(iss, claims)`` says
    whether the issuer is the expected one (Entra multi-tenant: per token)."""
    if not isinstance(token, str) or not token or len(token) > 16_384:
        raise IdTokenRejected("id_token_missing")
    header = _header(token)
    alg = header.get("alg")
    # §3.1.3.7 #6-7: the algorithm the upstream registered; `none` and HS* never.
    if alg not in algorithms or alg not in SIGNING_ALGS:
        raise IdTokenRejected("id_token_alg")
    kid = header.get("kid") if isinstance(header.get("kid"), str) else None
    key_set = keys(kid)
    candidates = [k for k in key_set.keys if kid is None or k.kid == kid]
    if not candidates:
        raise IdTokenRejected("id_token_unknown_key")
    claims: dict[str, Any] | None = None
    for key in candidates:
        try:
            claims = dict(jwt.decode(token, key, algorithms=[alg]).claims)
            break
        except (JoseError, ValueError, TypeError):
            continue
    if claims is None:
        raise IdTokenRejected("id_token_signature")
    # §3.1.3.7 #2: iss MUST exactly match the issuer.
    if not check_issuer(claims.get("iss"), claims):
        raise IdTokenRejected("id_token_iss")
    # #3: aud MUST contain our client_id; #4/#5: with several audiences, azp is us.
    aud = claims.get("aud")
    audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    if client_id not in audiences:
        raise IdTokenRejected("id_token_aud")
    azp = claims.get("azp")
    if (len(audiences) > 1 or azp is not None) and azp != client_id:
        raise IdTokenRejected("id_token_azp")
    # #9: the current time MUST be before exp; #10: iat not in the future nor too old.
    exp, iat = claims.get("exp"), claims.get("iat")
    if not _number(exp) or now >= exp + LEEWAY:
        raise IdTokenRejected("id_token_expired")
    if not _number(iat) or iat > now + LEEWAY or iat < now - MAX_AGE - LEEWAY:
        raise IdTokenRejected("id_token_iat")
    # #11: the nonce we sent, compared in constant time.
    sent = claims.get("nonce")
    if not isinstance(sent, str) or not hmac.compare_digest(sent.encode(), nonce.encode()):
        raise IdTokenRejected("id_token_nonce")
    return claims


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
