"""Signing keys on disk: ``<kid>.pem`` (private, mode 0600) and ``<kid>.json`` (schedule).

``kid`` is the RFC 7638 thumbprint of the public key. Files are written atomically
(temporary file + rename) so a reading process never sees half a key. The other store,
``keys.db_store``, keeps them in the database; both answer the same calls (``schedules``,
``load``, ``fingerprint``, and ``exclusive`` for changes).
"""

from __future__ import annotations

import fcntl
import json
import os
import stat
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc.jwk import RSAKey

from authserver.errors import SigningKeyError
from authserver.keys.lifecycle import KeySchedule

KEY_PARAMETERS = {"use": "sig", "alg": "RS256"}


@dataclass(frozen=True)
class StoredKey:
    schedule: KeySchedule
    private: RSAKey  # kid set, use=sig, alg=RS256

    @property
    def kid(self) -> str:
        return self.schedule.kid


def new_private_key(size: int) -> tuple[rsa.RSAPrivateKey, str]:
    """A fresh RSA key and its kid (RFC 7638 thumbprint), never one starting with ``-``.

    A base64url thumbprint starts with ``-`` once in 64 keys, and such a kid typed as a
    command argument (``authserver keys retire -d_TL…``) reads as an unknown option; a new
    key is drawn instead (the kid stays the plain thumbprint)."""
    while True:
        private = rsa.generate_private_key(public_exponent=65537, key_size=size)
        kid = RSAKey.import_key(private, parameters={**KEY_PARAMETERS}).thumbprint()
        if not kid.startswith("-"):
            return private, kid


def private_jwk(key: object, kid: str, where: str) -> RSAKey:
    """The signing JWK of a loaded private key, checked to be RSA and to match ``kid``."""
    if not isinstance(key, rsa.RSAPrivateKey):
        raise SigningKeyError(f"{where}: not an RSA key")
    if RSAKey.import_key(key, parameters={**KEY_PARAMETERS}).thumbprint() != kid:
        raise SigningKeyError(f"{where}: key does not match its kid")
    return RSAKey.import_key(key, parameters={**KEY_PARAMETERS, "kid": kid})


def _write_atomic(path: Path, data: bytes, mode: int) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class KeyStore:
    """The folder store. Running servers re-read it on requests (a few ``stat`` calls)."""

    poll_in_request = True

    def __init__(self, directory: Path, passphrase: str | None = None) -> None:
        self.directory = Path(directory)
        self._passphrase = passphrase.encode() if passphrase else None

    def fingerprint(self) -> tuple[tuple[str, int, int], ...]:
        """Changes whenever a key file is added, removed or rewritten."""
        try:
            entries = [
                (e.name, e.stat().st_mtime_ns, e.stat().st_size)
                for e in os.scandir(self.directory)
                if e.name.endswith((".pem", ".json")) and not e.name.startswith(".")
            ]
        except FileNotFoundError:
            return ()
        return tuple(sorted(entries))

    def schedules(self) -> list[KeySchedule]:
        """The schedules alone (no private key is read)."""
        if not self.directory.is_dir():
            return []
        out = []
        for meta in sorted(self.directory.glob("*.json")):
            data = json.loads(meta.read_text())
            out.append(KeySchedule(**data))
        return out

    def load(self) -> list[StoredKey]:
        keys = []
        for schedule in self.schedules():
            pem_path = self.directory / f"{schedule.kid}.pem"
            if not pem_path.exists():
                raise SigningKeyError(f"{pem_path}: missing private key for {schedule.kid}.json")
            self._check_mode(pem_path)
            keys.append(StoredKey(schedule, self._read_private(pem_path, schedule.kid)))
        return keys

    def _check_mode(self, path: Path) -> None:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise SigningKeyError(
                f"{path}: private key readable by group or others (mode {mode:o}); chmod 600 it"
            )

    def _read_private(self, path: Path, kid: str) -> RSAKey:
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), self._passphrase)
        except (ValueError, TypeError) as exc:
            raise SigningKeyError(f"{path}: cannot load private key ({exc})") from None
        return private_jwk(key, kid, str(path))

    @contextmanager
    def exclusive(self) -> Iterator[KeyStore]:
        """Read-modify-write under an exclusive lock on the folder, so two operators (or
        two starting processes) cannot both create "the first" key."""
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self.directory / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield self
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def create(self, schedule_for: Callable[[str], KeySchedule], size: int) -> KeySchedule:
        """Generate a key, name it by its thumbprint, write it, return its schedule."""
        self.directory.mkdir(parents=True, exist_ok=True)
        private, kid = new_private_key(size)
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(self._passphrase)
            if self._passphrase
            else serialization.NoEncryption()
        )
        pem = private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        )
        schedule = schedule_for(kid)
        _write_atomic(self.directory / f"{kid}.pem", pem, 0o600)
        self.save_schedule(schedule)
        return schedule

    def save_schedule(self, schedule: KeySchedule) -> None:
        data = json.dumps(asdict(schedule), indent=2).encode()
        _write_atomic(self.directory / f"{schedule.kid}.json", data, 0o644)
