"""Device cookies: how a throttled account's owner still gets in.

Throttling per account lets anyone who knows an e-mail address keep that account at its
limit, window after window. A browser that has logged in to the account before carries a
device cookie for it (a random id signed with the server's cookie secret, bound to the
account); a login from such a browser is counted against that device instead of the
account, so the owner's own browser is not locked out by strangers' guesses. (OWASP,
"Slow Down Online Guessing Attacks with Device Cookies".) The per-IP limit still holds."""

from __future__ import annotations

import hashlib
import hmac

from authserver.accounts.throttle import account_key
from authserver.hashing import new_secret

COOKIE = "device"
LIFETIME = 180 * 24 * 3600


def _signature(key: bytes, email: str, device_id: str) -> str:
    message = f"device:{account_key(email)}:{device_id}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def issue(key: bytes, email: str) -> str:
    """A new device cookie value for a browser that just logged in to ``email``."""
    device_id = new_secret(16)
    return f"{device_id}.{_signature(key, email, device_id)}"


def device_of(key: bytes, value: str | None, email: str) -> str | None:
    """The device id ``value`` proves for ``email``; None when it is absent, forged, or
    belongs to another account."""
    if not value or len(value) > 200 or "." not in value:
        return None
    device_id, signature = value.split(".", 1)
    expected = _signature(key, email, device_id)
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        return None
    return device_id
