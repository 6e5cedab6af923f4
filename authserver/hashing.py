"""High-entropy secrets: minting, hashing for storage, constant-time comparison.

Client secrets, refresh tokens, codes, session ids and reset tokens carry >= 256 bits of
randomness, so a plain SHA-256 digest is a safe stored form (no password hash needed:
nothing to brute-force), and lookups by digest are index scans.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets


def new_secret(nbytes: int = 32) -> str:
    """A URL-safe random string carrying ``nbytes`` bytes (default 256 bits) of entropy."""
    return secrets.token_urlsafe(nbytes)


def new_identifier(nbytes: int = 16) -> str:
    """A random URL-safe identifier (a generated client id) that never starts with ``-``,
    so it can be typed as a command argument (``authserver clients show ID``) without
    reading as an option."""
    while (value := secrets.token_urlsafe(nbytes)).startswith("-"):
        pass
    return value


def secret_hash(value: str) -> str:
    """The stored form of a high-entropy secret: SHA-256, hex."""
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def matches_hash(value: str, stored_hash: str | None) -> bool:
    """Whether ``value`` hashes to ``stored_hash``, compared in constant time."""
    if not stored_hash:
        return False
    return hmac.compare_digest(secret_hash(value), stored_hash)
