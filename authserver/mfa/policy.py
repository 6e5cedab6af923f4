"""Who must pass a second factor, and what a login session's methods are worth.

Required: for everyone (``mfa_required``), for holders of some roles
(``mfa_required_roles``, `admin` by default) and for the users of a client registered
with ``require_mfa``. A request's ``acr_values`` naming the multi-factor level asks for
it too (OIDC Core §3.1.2.1), as does ``max_age`` once the factors performed are older.

`acr` (OIDC Core §2) follows from `amr`: two levels, named the way Okta names its own."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from authserver.accounts import auth_methods
from authserver.settings import Settings
from authserver.storage.client_cache import ClientRecord
from authserver.storage.models import User

ACR_SINGLE_FACTOR = "urn:authserver:loa:1fa"
ACR_MULTI_FACTOR = "urn:authserver:loa:2fa"
ACR_VALUES = (ACR_SINGLE_FACTOR, ACR_MULTI_FACTOR)
# The methods that can start a sign-in (a passkey signs in alone: hwk/swk count as both).
FIRST_FACTORS = frozenset(
    {
        auth_methods.PASSWORD,
        auth_methods.FEDERATED,
        auth_methods.HARDWARE_KEY,
        auth_methods.SOFTWARE_KEY,
    }
)


def is_multi_factor(amr: Iterable[str]) -> bool:
    methods = set(amr)
    return auth_methods.MULTI_FACTOR in methods or bool(methods & auth_methods.SECOND_FACTORS)


def acr_of(amr: Iterable[str]) -> str:
    return ACR_MULTI_FACTOR if is_multi_factor(amr) else ACR_SINGLE_FACTOR


def required_for(settings: Settings, user: User, client: ClientRecord | None = None) -> bool:
    """Whether ``user`` must have (and use) a second factor, here or at ``client``."""
    if settings.mfa_required or (client is not None and client.require_mfa):
        return True
    return bool(set(user.roles or []) & settings.mfa_roles)


def asks_for_mfa(acr_values: str | None) -> bool:
    """Whether a request's ``acr_values`` names the multi-factor level (alone or among
    others: the strongest one named is what we try to satisfy)."""
    return ACR_MULTI_FACTOR in (acr_values or "").split()


def first_factor_time(methods: Mapping[str, int] | None) -> int | None:
    times = [int(t) for m, t in (methods or {}).items() if m in FIRST_FACTORS]
    return max(times) if times else None


def second_factor_time(methods: Mapping[str, int] | None) -> int | None:
    """When the session last performed a second factor (a passkey counts: it is both)."""
    seconds = auth_methods.SECOND_FACTORS
    times = [int(t) for m, t in (methods or {}).items() if m in seconds]
    return max(times) if times else None
