"""GitHub (OAuth 2, not OpenID Connect): the person is the numeric user id (a login
name can be renamed and reused); an e-mail only if GitHub marks it primary and
verified (``GET /user/emails``), never the public profile e-mail."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from authserver.federation import http
from authserver.federation.profile import (
    UpstreamProfile,
    email_of,
    name_of,
    shown_claims,
    subject_of,
)

if TYPE_CHECKING:
    from authserver.federation.upstream import Upstream

AUTHORIZE = "https://github.com/login/oauth/authorize"
TOKEN = "https://github.com/login/oauth/access_token"
API = "https://api.github.com"


def primary_verified_email(emails: Any) -> str | None:
    if not isinstance(emails, list):
        return None
    for entry in emails:
        if isinstance(entry, dict) and entry.get("primary") is True:
            return email_of(entry.get("email")) if entry.get("verified") is True else None
    return None


def identity(user: Any, emails: Any) -> UpstreamProfile | None:
    """The profile from ``GET /user`` and ``GET /user/emails`` (None: no usable id)."""
    if not isinstance(user, dict):
        return None
    raw_id = user.get("id")
    if not isinstance(raw_id, int) or isinstance(raw_id, bool):
        return None  # only the numeric id: never `login`, which can be taken over
    subject = subject_of(raw_id)
    if subject is None:
        return None
    email = primary_verified_email(emails)
    return UpstreamProfile(
        subject=subject,
        email=email,
        email_verified=email is not None,
        name=name_of(user.get("name")) or name_of(user.get("login")),
        groups=None,
        claims=shown_claims({k: user.get(k) for k in ("id", "login", "name")} | {"email": email}),
    )


def profile(up: Upstream, token: dict[str, Any]) -> UpstreamProfile:
    from authserver.federation.upstream import UpstreamRejected

    access = token.get("access_token")
    if not isinstance(access, str) or not access:
        raise UpstreamRejected("upstream_token_error", "no access_token")
    headers = {
        "Authorization": f"Bearer {access}",
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": "2022-11-28",
    }
    # One deadline with the token exchange (``Upstream.time_left``).
    kw = {"allow_private": up.allow_private, "headers": headers}
    user = http.get_json(f"{API}/user", timeout=up.time_left(), **kw)  # type: ignore[arg-type]
    emails = http.get_json(f"{API}/user/emails", timeout=up.time_left(), **kw)  # type: ignore[arg-type]
    found = identity(user, emails)
    if found is None:
        raise UpstreamRejected("github_user")
    return found
