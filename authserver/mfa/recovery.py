"""Recovery codes: ten single-use codes for when the authenticator is lost. Shown once,
stored only as hashes (each with its user's id), and a new set voids the old one."""

from __future__ import annotations

import secrets

from authserver.clock import to_datetime
from authserver.hashing import secret_hash
from authserver.services import Services
from authserver.storage.db import UnitOfWork

COUNT = 10
LENGTH = 10
# Letters and digits without the look-alikes 0/o, 1/l/i: 31 symbols, so about 49 bits per
# code; guessing is throttled like the authenticator's codes.
ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_ALLOWED = frozenset(ALPHABET)


def _hash(user_id: str, code: str) -> str:
    return secret_hash(f"recovery:{user_id}:{code}")


def normalise(text: str) -> str | None:
    """The code as stored (lower case, no spaces or dashes), or None when it cannot be one."""
    code = text.strip().lower().replace("-", "").replace(" ", "")
    if len(code) != LENGTH or not set(code) <= _ALLOWED:
        return None
    return code


def formatted(code: str) -> str:
    half = LENGTH // 2
    return f"{code[:half]}-{code[half:]}"


def generate(uow: UnitOfWork, services: Services, user_id: str) -> list[str]:
    """A new set of codes (to show once); the old set no longer works."""
    codes = ["".join(secrets.choice(ALPHABET) for _ in range(LENGTH)) for _ in range(COUNT)]
    now = to_datetime(services.clock.now())
    uow.mfa.replace_recovery_codes(user_id, [_hash(user_id, c) for c in codes], now)
    return [formatted(c) for c in codes]


def use(uow: UnitOfWork, services: Services, user_id: str, text: str) -> bool:
    """Whether ``text`` is one of the user's unused codes; if so it is now used (one
    conditional UPDATE: twice at once succeeds once)."""
    code = normalise(text)
    if code is None:
        return False
    return uow.mfa.use_recovery_code(
        user_id, _hash(user_id, code), to_datetime(services.clock.now())
    )
