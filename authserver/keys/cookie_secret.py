"""The server's cookie-HMAC secret: from settings, or generated once beside the keys."""

from __future__ import annotations

import fcntl
import os
import secrets
from pathlib import Path

FILE_NAME = "cookie-secret"


def load_or_create(keys_dir: Path, configured: str | None) -> bytes:
    if configured:
        return configured.encode()
    keys_dir.mkdir(parents=True, exist_ok=True)
    path = keys_dir / FILE_NAME
    with open(keys_dir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(48))
        return path.read_bytes().strip()
