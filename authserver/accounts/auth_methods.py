"""Authentication method references (RFC 8176 §2) recorded on login sessions and carried
as `amr` in ID and access tokens."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

PASSWORD = "pwd"
OTP = "otp"
# Proof of possession of a hardware-secured key (a security key, a platform passkey).
HARDWARE_KEY = "hwk"
SOFTWARE_KEY = "swk"
MULTI_FACTOR = "mfa"
# Not in the RFC 8176 registry (there is no registered value for "an upstream identity
# provider vouched for the user"); "fed" is what Okta and others emit for it.
FEDERATED = "fed"

KNOWN = frozenset({PASSWORD, OTP, HARDWARE_KEY, SOFTWARE_KEY, MULTI_FACTOR, FEDERATED})
# Two of these from different categories make a multi-factor login (RFC 8176 `mfa`).
SECOND_FACTORS = frozenset({OTP, HARDWARE_KEY, SOFTWARE_KEY})


def amr_of(methods: Mapping[str, int] | None) -> list[str]:
    """The `amr` claim for the methods a session records: sorted, stable."""
    return sorted(methods or {})


def merge(methods: Mapping[str, int] | None, performed: Iterable[str], at: int) -> dict[str, int]:
    """``methods`` with each of ``performed`` recorded as done at ``at``."""
    out = dict(methods or {})
    for method in performed:
        if method not in KNOWN:
            raise ValueError(f"unknown authentication method {method!r}")
        out[method] = at
    return out
