"""Password hashing: argon2id, with bcrypt hashes from an older system accepted.

``verify`` reports whether the stored hash should be replaced (argon2 parameters changed,
or a bcrypt hash), so the caller can upgrade it on a successful login.
"""

from __future__ import annotations

import contextlib
import os
import threading
from dataclasses import dataclass

import bcrypt
from argon2 import PasswordHasher as Argon2Hasher
from argon2 import Type
from argon2.exceptions import InvalidHashError, VerificationError

BCRYPT_PREFIXES = ("$2a$", "$2b$", "$2y$")


@dataclass(frozen=True)
class Verification:
    ok: bool
    needs_rehash: bool = False


def usable_cores() -> int:
    """The cores this process may run on (a pinned worker has fewer than the machine)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


class PasswordHasher:
    def __init__(self, time_cost: int, memory_kib: int, parallelism: int) -> None:
        self._argon2 = Argon2Hasher(
            time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism, type=Type.ID
        )
        # At most one hash per usable core at a time: more cannot finish sooner (hashing
        # is CPU-bound), but each argon2id computation holds ``memory_kib`` (64 MiB by
        # default): 16 protocol threads hashing at once held 1 GiB, and a password flood
        # would hold that much for as long as it lasts.
        self._slots = threading.BoundedSemaphore(usable_cores())
        # Verified against when the account does not exist, so an unknown e-mail costs
        # the same hash computation as a known one (no timing oracle).
        self._dummy = self._argon2.hash("not a password: equalises timing")

    def hash(self, password: str) -> str:
        with self._slots:
            return self._argon2.hash(password)

    def verify(self, stored_hash: str | None, password: str) -> Verification:
        if not stored_hash:
            self.verify_dummy(password)
            return Verification(ok=False)
        if stored_hash.startswith(BCRYPT_PREFIXES):
            return self._verify_bcrypt(stored_hash, password)
        try:
            with self._slots:
                self._argon2.verify(stored_hash, password)
        except (VerificationError, InvalidHashError):
            return Verification(ok=False)
        return Verification(ok=True, needs_rehash=self._argon2.check_needs_rehash(stored_hash))

    def verify_dummy(self, password: str) -> None:
        """Spend the time of one real verification, for an account that does not exist."""
        with contextlib.suppress(VerificationError), self._slots:
            self._argon2.verify(self._dummy, password)

    def _verify_bcrypt(self, stored_hash: str, password: str) -> Verification:
        # bcrypt only looks at the first 72 bytes; refuse longer input rather than
        # accept a password that merely shares its first 72 bytes.
        secret = password.encode("utf-8")
        if len(secret) > 72:
            return Verification(ok=False)
        try:
            with self._slots:
                ok = bcrypt.checkpw(secret, stored_hash.encode("ascii"))
        except ValueError:
            return Verification(ok=False)
        return Verification(ok=ok, needs_rehash=ok)
