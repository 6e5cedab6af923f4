"""Envelope encryption for the secrets the server must read back (upstream client
secrets, TOTP keys, private signing keys kept in the database): one mechanism for all.

Each value gets its own random 256-bit data key; the value is sealed with AES-256-GCM
under that data key, and the data key is sealed under a key-encryption key (KEK) from the
settings. Both seals bind ``context`` as associated data (say `provider:<id>:client_secret`),
so a ciphertext copied into another row or field does not decrypt. Rotating the KEK only
re-seals data keys (``rewrap``); the values themselves are untouched.

Stored form: ``v1.<kek id>.<sealed data key>.<sealed value>`` (base64url parts). The KEK
id is a fingerprint of the KEK (not a secret), so decryption picks the right one of
several configured keys."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from authserver.errors import AuthServerError
from authserver.settings import Settings, encryption_key_bytes

VERSION = "v1"
NONCE_BYTES = 12
SETTING = "AUTHSERVER_ENCRYPTION_KEYS"


class DecryptionError(AuthServerError):
    """A stored secret cannot be opened: its KEK is not configured, or it was altered or
    moved. The message names the setting and never contains key material."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def kek_id(kek: bytes) -> str:
    return hashlib.sha256(b"authserver kek id\0" + kek).hexdigest()[:16]


def derive_kek(secret: bytes) -> bytes:
    """The default KEK: HKDF-SHA256 of the cookie secret (never used as is)."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"authserver kek v1").derive(
        secret
    )


@dataclass(frozen=True)
class Envelope:
    """Seals and opens values under a ring of KEKs; the first one seals."""

    keks: tuple[bytes, ...]

    def __post_init__(self) -> None:
        if not self.keks or any(len(k) != 32 for k in self.keks):
            raise ValueError("an envelope needs 32-byte key-encryption keys")

    @property
    def current_kek_id(self) -> str:
        return kek_id(self.keks[0])

    def _kek(self, wanted: str) -> bytes:
        for kek in self.keks:
            if hmac.compare_digest(kek_id(kek), wanted):
                return kek
        raise DecryptionError(
            f"A stored secret was encrypted with a key-encryption key (id {wanted}) that "
            f"is not configured: add it back to {SETTING}."
        )

    def encrypt(self, plaintext: bytes, context: str) -> str:
        aad = context.encode()
        data_key = AESGCM.generate_key(bit_length=256)
        nonce = os.urandom(NONCE_BYTES)
        sealed_value = nonce + AESGCM(data_key).encrypt(nonce, plaintext, aad)
        return ".".join(
            (
                VERSION,
                self.current_kek_id,
                self._seal_key(self.keks[0], data_key, aad),
                _b64(sealed_value),
            )
        )

    def decrypt(self, token: str, context: str) -> bytes:
        kid, sealed_key, sealed_value = self._parts(token)
        aad = context.encode()
        data_key = self._open_key(self._kek(kid), sealed_key, aad)
        try:
            return AESGCM(data_key).decrypt(
                sealed_value[:NONCE_BYTES], sealed_value[NONCE_BYTES:], aad
            )
        except InvalidTag:
            raise DecryptionError("A stored secret was altered or belongs elsewhere.") from None

    def needs_rewrap(self, token: str) -> bool:
        return self._parts(token)[0] != self.current_kek_id

    def rewrap(self, token: str, context: str) -> str:
        """The same value with its data key sealed under the current KEK."""
        kid, sealed_key, sealed_value = self._parts(token)
        aad = context.encode()
        data_key = self._open_key(self._kek(kid), sealed_key, aad)
        return ".".join(
            (
                VERSION,
                self.current_kek_id,
                self._seal_key(self.keks[0], data_key, aad),
                _b64(sealed_value),
            )
        )

    @staticmethod
    def _seal_key(kek: bytes, data_key: bytes, aad: bytes) -> str:
        nonce = os.urandom(NONCE_BYTES)
        return _b64(nonce + AESGCM(kek).encrypt(nonce, data_key, b"data key\0" + aad))

    @staticmethod
    def _open_key(kek: bytes, sealed: bytes, aad: bytes) -> bytes:
        try:
            return AESGCM(kek).decrypt(
                sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], b"data key\0" + aad
            )
        except InvalidTag:
            raise DecryptionError(
                f"A stored secret does not open with its key-encryption key: the key in "
                f"{SETTING} is wrong, or the value was altered or belongs elsewhere."
            ) from None

    @staticmethod
    def _parts(token: str) -> tuple[str, bytes, bytes]:
        parts = token.split(".") if isinstance(token, str) else []
        if len(parts) != 4 or parts[0] != VERSION:
            raise DecryptionError("A stored secret is not in the envelope format.")
        try:
            return parts[1], _unb64(parts[2]), _unb64(parts[3])
        except ValueError:
            raise DecryptionError("A stored secret is not in the envelope format.") from None


def build_envelope(settings: Settings, cookie_secret: bytes) -> Envelope:
    """The configured KEKs (first seals), then the one derived from the cookie secret,
    which seals only when none are configured and otherwise still opens older values."""
    configured = encryption_key_bytes(settings.encryption_keys) if settings.encryption_keys else []
    derived = derive_kek(cookie_secret)
    return Envelope(tuple(dict.fromkeys([*configured, derived])))
