"""CSRF protection for every form: signed double-submit.

The browser gets a random ``csrf`` cookie; each form carries
``HMAC(server secret, cookie)`` in a hidden ``csrf_token`` field. A cross-site attacker can
neither read the cookie nor compute the HMAC without the server secret; the check is
constant-time. Forms are also protected by the SameSite=Lax session cookie, but that is
defence in depth, not the mechanism."""

from __future__ import annotations

import hashlib
import hmac

from starlette.requests import Request
from starlette.responses import Response

from authserver.hashing import new_secret
from authserver.web import cookies

COOKIE = "csrf"
FIELD = "csrf_token"


def _sign(request: Request, cookie_value: str) -> str:
    key: bytes = request.state.services.cookie_secret
    return hmac.new(key, b"csrf:" + cookie_value.encode(), hashlib.sha256).hexdigest()


def token_for(request: Request) -> tuple[str, str | None]:
    """The token to embed in a form, and a new cookie value if the browser has none."""
    current = cookies.read(request, COOKIE)
    if current and 20 <= len(current) <= 100:
        return _sign(request, current), None
    fresh = new_secret(24)
    return _sign(request, fresh), fresh


def set_cookie(request: Request, response: Response, value: str) -> None:
    cookies.write(request, response, COOKIE, value)


def is_valid(request: Request, submitted: str | None) -> bool:
    current = cookies.read(request, COOKIE)
    if not current or not submitted:
        return False
    # Bytes, not str: compare_digest raises TypeError on non-ASCII str.
    return hmac.compare_digest(_sign(request, current).encode(), submitted.encode())
