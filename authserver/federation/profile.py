"""What an upstream said about the person, cleaned before anything is stored or shown:
strings only, bounded, no control characters, e-mail syntax checked; the verified flag
only from the claim each kind actually vouches for."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from authserver.accounts.users import normalise_email
from authserver.errors import InvalidInput
from authserver.federation.config import ascii_domain
from authserver.text import displayable, storable

MAX_SUBJECT = 255
MAX_GROUPS = 1000
MAX_SHOWN_CLAIMS = 40


@dataclass(frozen=True)
class UpstreamProfile:
    subject: str
    email: str | None
    email_verified: bool
    name: str | None
    # None: no groups claim, or one that overflowed (Entra's `_claim_names`, a
    # `groups.link`): nothing is granted from it.
    groups: tuple[str, ...] | None
    # A bounded, string-only copy for the account page and the console.
    claims: dict[str, Any]
    # The userinfo endpoint's claims, fetched only for the console's test login (a
    # sign-in reads the ID token); bounded like ``claims``.
    userinfo: dict[str, Any] | None = None
    # When the upstream says it authenticated the person (OIDC `auth_time`, SAML
    # `AuthnInstant`; epoch seconds), if it said: ``federation.fresh``, and the login
    # session's `auth_time` (``login_sessions``).
    auth_time: float | None = None

    @property
    def email_domain(self) -> str | None:
        if not self.email:
            return None
        try:  # stored domains are in IDNA form (federation.config)
            return ascii_domain(self.email.rpartition("@")[2])
        except ValueError:
            return None


def text(value: Any, limit: int) -> str | None:
    if not isinstance(value, str) or not value or len(value) > limit or not storable(value):
        return None
    return value


def subject_of(value: Any) -> str | None:
    """An upstream subject: a non-empty string (GitHub: the numeric id as text)."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        value = str(value)
    subject = text(value, MAX_SUBJECT)
    return subject if subject and displayable(subject) else None


def email_of(value: Any) -> str | None:
    raw = text(value, 320)
    if raw is None:
        return None
    try:
        return normalise_email(raw)
    except InvalidInput:
        return None


def name_of(value: Any) -> str | None:
    name = text(value, 200)
    return name.strip() if name and displayable(name) and name.strip() else None


def groups_of(claims: dict[str, Any], claim: str) -> tuple[str, ...] | None:
    names = claims.get("_claim_names")
    if isinstance(names, dict) and claim in names:
        return None  # OIDC Core §5.6.2 distributed claim: the overage case
    value = claims.get(claim)
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or len(value) > MAX_GROUPS:
        return None
    groups = [g for g in value if isinstance(g, str) and text(g, 256)]
    return tuple(groups) if len(groups) == len(value) else None


def shown_claims(claims: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in list(claims.items())[:MAX_SHOWN_CLAIMS]:
        if not text(key, 100):
            continue
        if isinstance(value, bool | int | float) or value is None:
            out[key] = value
        elif isinstance(value, str):
            out[key] = value[:200] if storable(value) else None
        elif isinstance(value, list):
            out[key] = [v[:200] for v in value[:50] if isinstance(v, str) and storable(v)]
    return out


def from_claims(
    claims: dict[str, Any], *, groups_claim: str, verified_claim: str = "email_verified"
) -> UpstreamProfile | None:
    """The profile of OIDC claims, or None without a usable subject. The e-mail counts as
    verified only when ``verified_claim`` is JSON true."""
    subject = subject_of(claims.get("sub"))
    if subject is None:
        return None
    email = email_of(claims.get("email"))
    return UpstreamProfile(
        subject=subject,
        email=email,
        email_verified=bool(email) and claims.get(verified_claim) is True,
        name=name_of(claims.get("name")),
        groups=groups_of(claims, groups_claim),
        claims=shown_claims(claims),
    )
