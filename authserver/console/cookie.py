"""The console session: a cookie holding the time of the last console request, signed
(HMAC-SHA256 under the server's cookie secret) together with the login session it
belongs to, so it is worth nothing with another session and cannot be moved forward."""

from __future__ import annotations

import hashlib
import hmac

COOKIE = "console"
MAX_LENGTH = 100


def _sign(key: bytes, session_id: str, seen_at: int) -> str:
    message = f"console:{session_id}:{seen_at}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def issue(key: bytes, session_id: str, now: float) -> str:
    seen_at = int(now)
    return f"{seen_at}.{_sign(key, session_id, seen_at)}"


def seen_at(key: bytes, session_id: str, value: str | None) -> int | None:
    """The last console request the cookie vouches for, or None (absent, forged, or
    from another session)."""
    if not value or len(value) > MAX_LENGTH or value.count(".") != 1:
        return None
    raw_time, signature = value.split(".")
    if not raw_time.isascii() or not raw_time.isdigit() or len(raw_time) > 12:
        return None
    at = int(raw_time)
    # Bytes: compare_digest raises TypeError on non-ASCII str.
    if not hmac.compare_digest(_sign(key, session_id, at).encode(), signature.encode()):
        return None
    return at
