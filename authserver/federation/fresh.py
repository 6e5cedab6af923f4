"""A federated login that must be a fresh authentication.

A relying party asks for one with OIDC `prompt=login`, or with a `max_age` the browser's
session does not meet (OIDC Core §3.1.2.1: the OP "MUST attempt to actively
re-authenticate the End-User"); ``oauth.authorization.login_demand`` decides it, the one
rule the password login follows too, and the login page carries it to the federated
start as ``prompt=login`` (and ``max_age``). A password is always typed afresh; an
upstream's single sign-on session would answer silently. So the start asks the upstream
to re-authenticate (OIDC `prompt=login` and the RP's `max_age`; SAML `ForceAuthn`), and
the callback refuses an answer whose authentication (OIDC `auth_time`, SAML
`AuthnInstant`) is older than the round trip, whatever the upstream was asked.

The login-page parameters come from the browser: one who drops them gets no more than
one who drops `prompt=login` from the RP's own request, and the `auth_time` we issue is
then the upstream's (``login_sessions``), which the RP can check against its `max_age`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from authserver.federation.id_token import LEEWAY
from authserver.params import parse_decimal

# The clock skew allowed between us and an OIDC upstream, as for the ID token's
# `iat`/`exp` (a SAML IdP's is the assertion checks' ``Policy.clock_skew``).
SKEW = LEEWAY
# The login page's notice of an account change that asks to sign in again (``pages``).
REAUTH_NOTICE = "reauth"


@dataclass(frozen=True)
class FreshAuth:
    """The login in progress must be a new authentication; ``max_age`` is the RP's."""

    max_age: int | None = None

    def query(self) -> dict[str, str]:
        """The parameters that carry it: on our login page and to an OIDC upstream (OIDC
        Core §3.1.2.1: `prompt=login`, and the RP's `max_age` unchanged, which also makes
        `auth_time` REQUIRED in the upstream's ID token, §2)."""
        params = {"prompt": "login"}
        if self.max_age is not None:
            params["max_age"] = str(self.max_age)
        return params


def from_fields(fields: Mapping[str, str]) -> FreshAuth | None:
    """What the login page (its query, or a form it rendered) says: ``prompt`` naming
    `login`, or the notice of an account change that asks to sign in again."""
    prompt = fields.get("prompt") or ""
    if "login" not in prompt.split() and fields.get("notice") != REAUTH_NOTICE:
        return None
    raw = fields.get("max_age")
    return FreshAuth(parse_decimal(raw, max_digits=10) if raw else None)


class NotReauthenticated(Exception):
    """The upstream answered a fresh-auth round trip with an older authentication (or
    did not say when it authenticated); ``reason`` for the audit."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def instant(value: Any) -> float | None:
    """An upstream's authentication time (epoch seconds) if it is a plausible number."""
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < 1e11:
        return float(value)
    return None


def check(authenticated_at: Any, started_at: float, skew: float = SKEW) -> None:
    """A fresh-auth round trip's answer: the upstream's authentication time must be
    given (OIDC Core §2: `auth_time` is REQUIRED when `max_age` was requested; we ask it
    with `prompt=login` too, as SAML's `AuthnInstant` is always REQUIRED, Core §2.7.2)
    and no earlier than the round trip's start, within ``skew`` seconds."""
    if not isinstance(authenticated_at, int | float) or isinstance(authenticated_at, bool):
        raise NotReauthenticated("no_auth_time")
    if authenticated_at < started_at - skew:
        raise NotReauthenticated("stale_auth_time")
