"""Who may use the console, decided in one place.

Every console request must come from an allowed network (``console_allowed_networks``),
from a live login session of a user who holds the `admin` role now (re-read, not cached)
and whose session performed a second factor (RFC 8176 §2 `otp`, `hwk`, `swk`, or `mfa`
asserted by an upstream provider). The console has its own idle timeout, shorter than the
login session's: a console session (``console.cookie``) lives while it is used; once it
lapsed, coming back needs a second factor performed within the idle window again -- that
is, a fresh sign-in."""

from __future__ import annotations

import ipaddress
from enum import Enum

from authserver.accounts import auth_methods
from authserver.accounts.login_sessions import ActiveSession
from authserver.accounts.roles import ADMIN_ROLE
from authserver.settings import Settings

# What counts as having signed in with a second factor.
SECOND_FACTORS = auth_methods.SECOND_FACTORS | {auth_methods.MULTI_FACTOR}


class Refusal(Enum):
    NETWORK = "network"
    NOT_SIGNED_IN = "not_signed_in"
    NOT_ADMIN = "not_admin"
    NO_SECOND_FACTOR = "no_second_factor"
    EXPIRED = "expired"


def network_allowed(settings: Settings, ip: str | None) -> bool:
    networks = settings.console_networks
    if not networks:
        return True
    try:
        address = ipaddress.ip_address(ip or "")
    except ValueError:
        return False
    return any(address in network for network in networks)


def second_factor_at(session: ActiveSession) -> int | None:
    """When the session last performed a second factor (epoch seconds), or None."""
    times = [session.method_time(m) for m in SECOND_FACTORS]
    done = [t for t in times if t is not None]
    return max(done) if done else None


def refusal(
    session: ActiveSession | None,
    settings: Settings,
    now: float,
    console_seen_at: float | None,
) -> Refusal | None:
    """Why this session may not use the console now (None: it may). ``console_seen_at``:
    the last console request of this session, from its console cookie (None: none)."""
    if session is None:
        return Refusal.NOT_SIGNED_IN
    if ADMIN_ROLE not in (session.user.roles or []):
        return Refusal.NOT_ADMIN
    factor_at = second_factor_at(session)
    if factor_at is None:
        return Refusal.NO_SECOND_FACTOR
    window = settings.console_idle_ttl
    if console_seen_at is not None and now - console_seen_at < window:
        return None
    if now - factor_at < window:
        return None
    return Refusal.EXPIRED
