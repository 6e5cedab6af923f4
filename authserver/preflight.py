"""Checks that need more than the settings themselves (the disk, later the database),
run by `authserver serve`, every CLI command and `authserver config check` before
anything is created: same problems, same messages."""

from __future__ import annotations

from pathlib import Path

from authserver.errors import UnsafeSettings
from authserver.settings import PREFIX, Settings

# Where state lived before AUTHSERVER_DATA_DIR (0.1): relative to the current folder.
LEGACY_DATABASE = Path("data") / "authserver.db"


def problems(settings: Settings, cwd: Path | None = None) -> list[str]:
    """Every problem found, each naming the setting to change."""
    return _legacy_layout(settings, cwd or Path.cwd())


def require_no_problems(settings: Settings) -> None:
    found = problems(settings)
    if found:
        raise UnsafeSettings(found)


def sqlite_file(settings: Settings) -> Path | None:
    prefix = settings.database_url.split(":///", 1)
    if not settings.is_sqlite or len(prefix) != 2 or prefix[1].startswith(":memory:"):
        return None
    return Path(prefix[1].split("?", 1)[0])


def _legacy_layout(settings: Settings, cwd: Path) -> list[str]:
    """A database left by 0.1 in ./data while the data directory is the new default and
    still empty: starting would silently begin with no clients, users or keys."""
    if "data_dir" in settings.model_fields_set or "database_url" in settings.model_fields_set:
        return []
    current = sqlite_file(settings)
    legacy = cwd / LEGACY_DATABASE
    if current is None or current.exists() or not legacy.is_file():
        return []
    return [
        f"{PREFIX}DATA_DIR: unset, so the state would be created in {settings.data_dir}, but "
        f"{legacy} holds a database from an earlier version; set {PREFIX}DATA_DIR (and "
        f'{PREFIX}KEYS_DIR if its keys are elsewhere), see CHANGELOG.md "Upgrading to 0.2"'
    ]


def signing_key_problems(settings: Settings) -> list[str]:
    """With the database key store, every stored private key opens with the configured
    key-encryption keys: a wrong or missing `AUTHSERVER_ENCRYPTION_KEYS` refuses to start,
    naming the setting, rather than signing with a key the other processes cannot read.
    With either store, no other sealed value (upstream client secret, authenticator-app
    key) may name a KEK that is not configured. (A database not migrated yet has none.)"""
    from authserver.errors import SigningKeyError
    from authserver.keys import cookie_secret, sealed_values
    from authserver.keys.db_store import DatabaseKeyStore
    from authserver.keys.envelope import build_envelope
    from authserver.storage import migrate
    from authserver.storage.db import Database

    file = sqlite_file(settings)
    if file is not None and not file.exists():
        return []
    if migrate.current_revision(settings.database_url) != migrate.head_revision():
        return []
    db = Database(settings.database_url, 1)
    try:
        secret = cookie_secret.load_or_create(settings.keys_dir, settings.secret_key)
        envelope = build_envelope(settings, secret)
        # The other sealed values (any key store): a KEK dropped before the rewrap.
        with db.engine.connect() as conn:
            found = sealed_values.unknown_keks(conn, envelope)
        if settings.key_store == "database":
            DatabaseKeyStore(db, envelope).load()
    except SigningKeyError as exc:
        return [str(exc)]
    finally:
        db.dispose()
    return found
