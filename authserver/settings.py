"""Typed settings, read once from ``AUTHSERVER_*`` variables (and an optional ``.env``).

``load_settings(environ)`` is the only place that reads the environment. The result is
frozen and validated as a whole: a setting that is malformed, unsafe for production or
contradicts another stops the start with a message naming the variable.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import os
import re
from collections.abc import Mapping
from email.utils import parseaddr
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from dotenv import dotenv_values
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from authserver import resources
from authserver.errors import UnsafeSettings
from authserver.i18n.catalogs import available_locales

PREFIX = "AUTHSERVER_"
# Scheduled signing-key rotation where keys are shared (`KEY_ROTATION_INTERVAL`): 90 days.
DEFAULT_KEY_ROTATION_INTERVAL = 90 * 86_400


def encryption_key_bytes(value: str) -> list[bytes]:
    """The keys of ``AUTHSERVER_ENCRYPTION_KEYS``: each 32 bytes, base64url (padding
    optional). ``ValueError`` names what is wrong, never the key itself."""
    keys = []
    for n, part in enumerate((p.strip() for p in value.split(",")), start=1):
        try:
            raw = base64.b64decode(part + "=" * (-len(part) % 4), altchars=b"-_", validate=True)
        except (ValueError, binascii.Error):
            raise ValueError(f"key {n} is not base64url") from None
        if len(raw) != 32:
            raise ValueError(f"key {n} must be 32 bytes (it is {len(raw)})")
        keys.append(raw)
    return keys


class Settings(BaseModel):
    # Each field's docstring is its description in `docs/configuration.md` and in
    # `authserver config show` (`authserver config reference` regenerates the document).
    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    data_dir: Path = Field(default_factory=lambda: default_data_dir())
    """Folder holding the server's state on disk: the SQLite database, the signing keys and
    the e-mail outbox, unless those are set to absolute paths of their own. Relative paths
    in `DATABASE_URL` (sqlite), `KEYS_DIR` and `MAIL_OUTBOX_DIR` are resolved inside it.
    Default: `$XDG_DATA_HOME/authserver`, else `~/.local/share/authserver`, so the server
    and the command line find the same state from any folder."""
    issuer: str = ""
    """Public base URL of this server; the `iss` of every token. https outside loopback.
    Default: `http://localhost:<PORT>`, for a server tried out on one machine."""
    database_url: str = "sqlite:///authserver.db"
    """SQLAlchemy URL: `sqlite:///FILE` (the embedded, single-process mode; a relative
    FILE is inside `DATA_DIR`) or `postgresql+psycopg://user:password@host:5432/db`."""
    redis_url: str | None = None
    """`redis://`, `rediss://`, `unix://`, `redis+sentinel://host:26379,host2/master` or
    `redis+cluster://host:7000,host2:7001`. Unset: the deny list lives in the database and
    the throttling counters in the process's memory (one process only)."""
    redis_prefix: str = "authserver:"
    """Prefix of every Redis key, so several deployments (or test runs) can share a Redis."""
    auto_migrate: bool | None = None
    """Apply database migrations on start. Default: on for SQLite, off otherwise (run
    `authserver migrate` once per release)."""
    db_pool_size: int = Field(default=10, ge=1, le=200)
    """Database connections kept open per process; never fewer than `THREAD_POOL_SIZE`,
    and as many again may be opened for bursts."""

    keys_dir: Path = Path("keys")
    """Folder holding `<kid>.pem` + `<kid>.json` per signing key, and `cookie-secret`.
    Relative: inside `DATA_DIR`."""
    key_size: int = 2048
    """RSA modulus bits of new signing keys: 2048, 3072 or 4096."""
    keys_passphrase: str | None = None
    """Passphrase the private key files are encrypted with (unset: not encrypted; they are
    still mode 0600)."""
    key_publish_ahead: int = Field(default=600, ge=0)
    """Seconds a rotated-in key is published before it signs; at least `JWKS_MAX_AGE`, so
    verifiers holding a cached JWKS have refreshed it before they meet the new `kid`."""
    key_store: Literal["folder", "database"] = "folder"
    """Where the signing keys live: `folder` (`KEYS_DIR`, one machine, or a folder shared
    by hand) or `database` (a table every process on every machine reads, the private keys
    encrypted with `ENCRYPTION_KEYS`, which must then be set). Move from one to the other
    with `authserver keys import-folder`."""
    key_rotation_interval: int | None = Field(default=None, ge=0)
    """Seconds between scheduled key rotations (90 days: `7776000`; `0`: off). The first
    process to notice that the newest key is this old publishes a new one, exactly once
    across processes. Default: 90 days with `KEY_STORE=database` on PostgreSQL, off
    otherwise (the embedded mode, and key folders other machines may not see)."""
    jwks_max_age: int = Field(default=300, ge=0, le=86_400)
    """`Cache-Control: max-age` of the JWKS document, seconds."""

    access_token_ttl: int = Field(default=3600, ge=30, le=86_400)
    """Lifetime of access tokens, seconds."""
    id_token_ttl: int = Field(default=3600, ge=30, le=86_400)
    """Lifetime of ID tokens, seconds."""
    refresh_token_ttl: int = Field(default=30 * 86_400, ge=60)
    """Absolute lifetime of a refresh-token family (one login at one client), seconds,
    however often it is refreshed."""
    auth_code_ttl: int = Field(default=60, ge=5)
    """Lifetime of authorization codes, seconds (at most 60)."""
    access_token_audience: str | None = None
    """`aud` of access tokens unless a client names its own audience. Default: the issuer."""

    session_idle_ttl: int = Field(default=2 * 3600, ge=60)
    """A login session (hosted pages) ends after this many seconds without use."""
    session_absolute_ttl: int = Field(default=7 * 86_400, ge=60)
    """A login session ends this many seconds after the login, however busy."""
    sessions_per_user: int = Field(default=100, ge=1, le=10_000)
    """Live login sessions a user may have; a new login ends the least recently used
    beyond this (and the token families issued under them)."""
    console_idle_ttl: int = Field(default=900, ge=60)
    """The admin console (`/console`) asks for a new sign-in (with a second factor) after
    this many seconds without a console page view; shorter than `SESSION_IDLE_TTL`."""
    console_allowed_networks: str = ""
    """Addresses the admin console may be used from: comma-separated IP addresses or CIDR
    blocks (`10.0.0.0/8, 2001:db8::/32`). Empty: any (the admin role and a second factor
    are required in any case)."""
    secret_key: str | None = Field(default=None, min_length=32)
    """Key for the HMACs over cookies (CSRF tokens, device cookies), at least 32
    characters. Unset: generated once into `<KEYS_DIR>/cookie-secret` (share that folder
    between machines, as for the keys)."""
    encryption_keys: str | None = None
    """Key-encryption keys for secrets stored encrypted (upstream client secrets, TOTP
    keys, signing keys kept in the database): comma-separated, each 32 random bytes in
    base64url (`python -c "import secrets; print(secrets.token_urlsafe(32))"`). The first
    encrypts; the others still decrypt (key rotation). Unset: derived from the cookie
    secret above (`SECRET_KEY` or `<KEYS_DIR>/cookie-secret`), which also still decrypts
    once keys are set."""

    dynamic_registration_enabled: bool = True
    """Dynamic client registration (RFC 7591) at `/oauth/register`, behind initial access
    tokens (`authserver clients initial-token`)."""
    initial_access_token_ttl: int = Field(default=86_400, ge=60)
    """Lifetime of an initial access token, seconds, unless `authserver clients
    initial-token --expires-in` says otherwise (`--max-uses` also limits how many
    clients one token registers)."""
    registration_allowed_scopes: str = "openid profile email offline_access"
    """The scopes dynamically registered clients may ask for (space-separated)."""
    jwks_uri_allow_private_networks: bool = False
    """Let `private_key_jwt` clients' `jwks_uri` reach private, loopback, link-local and
    other non-global addresses. A `jwks_uri` is fetched by this server: off, it cannot be
    used to probe the internal network. Only for test rigs and closed networks."""

    federation_allow_private_networks: bool = False
    """Let upstream identity providers (federation) live at private, loopback, link-local
    and other non-global addresses, and at `http://` URLs on loopback. Off, an upstream's
    issuer and endpoints must be https at public addresses, so a provider setting cannot
    be used to probe the internal network. For test rigs and identity providers inside a
    closed network."""
    federation_timeout: float = Field(default=10.0, gt=0, le=60)
    """Seconds one request to an upstream identity provider (discovery, keys, token,
    user API) may take in all; then the login ends on a readable error page."""
    federation_login_ttl: int = Field(default=600, ge=60, le=3600)
    """Seconds a person has to come back from an upstream login (the state's lifetime),
    and to confirm linking an upstream identity to an existing account."""

    argon2_time_cost: int = Field(default=3, ge=1)
    """argon2id passes (RFC 9106; OWASP minimum 2 for a public issuer)."""
    argon2_memory_kib: int = Field(default=65_536, ge=8)
    """argon2id memory, KiB (OWASP minimum 19456 for a public issuer)."""
    argon2_parallelism: int = Field(default=4, ge=1)
    """argon2id lanes."""

    registration_enabled: bool = True
    """Self-service sign-up: the `/register` page and its JSON form."""
    unverified_email_sign_in: bool = True
    """Users who have not yet followed the link e-mailed at sign-up may sign in to apps
    (their tokens say `email_verified: false`). Off: no app gets a code or token for them
    until they have; the hosted pages lead them to the link. A client can require a
    verified address on its own (`clients update --require-verified-email`)."""
    email_verification_ttl: int = Field(default=86_400, ge=300, le=30 * 86_400)
    """Seconds an e-mail verification link (sign-up, change of address) stays valid."""
    account_deletion_enabled: bool = True
    """Users may delete their own account on the account page (after signing in again)."""
    throttle_window: int = Field(default=900, ge=1, le=86_400)
    """Seconds of the sliding window over which password and reset-link failures are
    counted, per account (e-mail) and per client IP (IPv6: per /64): no span of this many
    seconds holds more than a limit. At a limit, attempts get 429 + `Retry-After`,
    uncounted, until the oldest counted failure is a window old: no permanent lockout."""
    throttle_account_failures: int = Field(default=10, ge=1)
    """Password failures per account per window."""
    throttle_ip_failures: int = Field(default=100, ge=1)
    """Password failures per client IP per window."""
    throttle_ip_hourly_requests: int = Field(default=20, ge=1)
    """Sign-ups and reset requests per client IP per hour."""
    throttle_email_hourly_resets: int = Field(default=5, ge=1)
    """Reset e-mails per address per hour."""
    mfa_required: bool = False
    """Every user must have a second factor. One without is led through setting up an
    authenticator app right after the password, before any app gets a code."""
    mfa_required_roles: str = "admin"
    """Roles whose holders must have a second factor, comma-separated (empty: none): the
    same as `MFA_REQUIRED`, for them only. A client's `require_mfa` does it for its users."""
    mfa_reauth_max_age: int = Field(default=600, ge=30, le=86_400)
    """Removing a second factor needs a sign-in (password and second factor) at most this
    many seconds old; an older session is asked to sign in again first. The same age
    stands in for the current password when a user without one (federated only) changes
    their e-mail address."""

    smtp_host: str | None = None
    """SMTP server for outgoing e-mail. Unset: each message is written as an `.eml` file
    to `MAIL_OUTBOX_DIR` and its path logged (the embedded default)."""
    smtp_port: int = Field(default=587, ge=1, le=65_535)
    """SMTP port."""
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    """`starttls` (port 587, required, never downgraded), `tls` (implicit TLS, port 465) or
    `none` (a local relay only; refused with credentials)."""
    smtp_username: str | None = None
    """SMTP user name (set with `SMTP_PASSWORD`)."""
    smtp_password: str | None = None
    """SMTP password (set with `SMTP_USERNAME`)."""
    smtp_timeout: int = Field(default=10, ge=1, le=300)
    """Seconds to wait for the SMTP server."""
    mail_from: str = "authserver <no-reply@localhost>"
    """`From` of outgoing e-mail."""
    mail_outbox_dir: Path = Path("outbox")
    """Folder the `.eml` files go to without `SMTP_HOST`. Relative: inside `DATA_DIR`."""

    templates_dir: Path | None = None
    """Operator folder whose files replace the shipped templates one by one (same relative
    names: `pages/login.html`, `email/…`, `static/…`,
    `locale/<lang>/LC_MESSAGES/messages.po`); kept outside the installation, so upgrades
    leave it alone."""
    locales: str = "en de fr"
    """Languages the pages and e-mails speak (space-separated BCP 47 tags, each with a
    catalog: shipped `en`, `de`, `fr`, or the operator's)."""
    default_locale: str = "en"
    """The language used when neither `ui_locales` nor the browser names a supported one."""
    brand_name: str = Field(default="authserver", min_length=1, max_length=80)
    """Product name on the pages and e-mails."""
    brand_logo_url: str | None = None
    """Logo: an https URL, or a `/static/…` path served from the operator folder's
    `static/`."""
    brand_favicon_url: str | None = None
    """Favicon: an https URL or a `/static/…` path."""
    brand_primary_color: str = "#2f5bd3"
    """Primary colour (`#rrggbb`: buttons and links; the text on it is chosen for
    contrast)."""
    brand_support_url: str | None = None
    """Support link (https or `mailto:`), shown in every page's footer."""
    brand_privacy_url: str | None = None
    """Privacy policy link, shown in every page's footer."""
    brand_terms_url: str | None = None
    """Terms of service link, shown in every page's footer."""

    expired_retention_days: int = Field(default=7, ge=0, le=3650)
    """Days `authserver cleanup` keeps ended or expired authorization codes, reset tokens
    and login sessions (for investigation) before it deletes them."""
    audit_retention_days: int = Field(default=365, ge=1, le=36_500)
    """Days `authserver cleanup` keeps audit events."""

    max_body_bytes: int = Field(default=65_536, ge=1024)
    """Largest request body accepted by the protocol endpoints, pages and admin API, bytes."""
    client_cache_ttl: float = Field(default=5.0, ge=0, le=300)
    """Seconds a process may reuse a client registration it read (0: always read it).
    Changes made elsewhere (the CLI, another process) take effect within this time."""
    thread_pool_size: int = Field(default=16, ge=1, le=1000)
    """Worker threads running the synchronous protocol and database code. CPU-bound work
    (signing, hashing) gains nothing from more threads than cores; I/O waits (PostgreSQL,
    Redis) want a few more."""
    refresh_on_event_loop: bool = True
    """PostgreSQL: answer refresh_token grants on the event loop, their statements sent on
    asyncio connections of their own (up to `DB_POOL_SIZE` more per process), not in a
    worker thread: less CPU per refresh (bench/README.md). False: in a thread."""
    code_exchange_on_event_loop: bool = True
    """PostgreSQL: answer authorization_code exchanges on the event loop, as refresh_token
    grants (the same asyncio connections): two statements, no thread hop (bench/README.md).
    A replayed code, a lost race or an uncached client still runs in a thread. False: in
    a thread."""

    max_header_bytes: int = Field(default=16_384, ge=1024, le=1_048_576)
    """Largest request line + headers `authserver serve` accepts, bytes (431 beyond)."""
    max_headers: int = Field(default=100, ge=10, le=1000)
    """Most request header fields `authserver serve` accepts (431 beyond)."""
    header_timeout: float = Field(default=10.0, gt=0, le=300)
    """Seconds for a request's headers to arrive, from its first byte (or from the
    connection opening): 408 and close beyond."""
    body_timeout: float = Field(default=20.0, gt=0, le=600)
    """Seconds for a request's body to arrive after its headers: 408 and close beyond."""
    keep_alive_timeout: float = Field(default=5.0, gt=0, le=300)
    """Seconds an idle kept-alive connection stays open."""
    max_connections: int = Field(default=1000, ge=1, le=100_000)
    """Connections (and requests in flight) per server process; beyond, requests get 503."""

    ops_host: str = "127.0.0.1"
    """Address of the operations listener (with `OPS_PORT`)."""
    ops_port: int | None = Field(default=None, ge=1, le=65_535)
    """Port of a second listener serving only `/healthz`, `/readyz` and `/metrics`. Set,
    the public listener answers `/readyz` without detail and has no `/metrics`."""
    ops_token: str | None = Field(default=None, min_length=32)
    """Bearer token that reads `/metrics` and `/readyz` detail on the public listener.
    Without it and without `OPS_PORT`, only a loopback issuer (one machine) shows them
    there."""

    host: str = "127.0.0.1"
    """Address `authserver serve` listens on."""
    port: int = Field(default=8000, ge=0, le=65_535)
    """Port `authserver serve` listens on."""
    workers: int = Field(default=1, ge=1, le=256)
    """Server processes `authserver serve` starts (more than one needs PostgreSQL and
    Redis)."""
    forwarded_allow_ips: str = "127.0.0.1"
    """Addresses whose `X-Forwarded-*` headers are trusted (a TLS-terminating proxy),
    comma-separated, or `*`."""
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    """Least severe log level written."""
    log_format: Literal["json", "text"] = "json"
    """`json`: one JSON object per line (with the request id); `text`: for a terminal."""
    access_log: bool = True
    """One log line per request."""
    metrics_enabled: bool = True
    """Serve Prometheus metrics at `/metrics` (keep it off the public internet)."""

    @field_validator("encryption_keys")
    @classmethod
    def _encryption_keys(cls, value: str | None) -> str | None:
        if value is not None:
            encryption_key_bytes(value)
        return value

    @model_validator(mode="after")
    def _resolve_defaults(self) -> Settings:
        # Frozen model: the derived values are set once, here, before anyone reads them.
        if not self.issuer:
            object.__setattr__(self, "issuer", f"http://localhost:{self.port}")
        data_dir = self.data_dir.expanduser()
        data_dir = data_dir if data_dir.is_absolute() else Path.cwd() / data_dir
        object.__setattr__(self, "data_dir", data_dir)
        object.__setattr__(self, "keys_dir", data_dir / self.keys_dir.expanduser())
        object.__setattr__(self, "mail_outbox_dir", data_dir / self.mail_outbox_dir.expanduser())
        object.__setattr__(self, "database_url", _sqlite_inside(self.database_url, data_dir))
        return self

    @property
    def issuer_is_https(self) -> bool:
        return self.issuer.startswith("https://")

    @property
    def issuer_is_loopback(self) -> bool:
        return _is_loopback_host(urlsplit(self.issuer).hostname or "")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def should_auto_migrate(self) -> bool:
        return self.is_sqlite if self.auto_migrate is None else self.auto_migrate

    @property
    def audience(self) -> str:
        return self.access_token_audience or self.issuer

    @property
    def mfa_roles(self) -> frozenset[str]:
        """The roles of `MFA_REQUIRED_ROLES`."""
        return frozenset(r.strip() for r in self.mfa_required_roles.split(",") if r.strip())

    @property
    def console_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        """``console_allowed_networks`` parsed (empty: no restriction)."""
        parts = [p.strip() for p in self.console_allowed_networks.split(",") if p.strip()]
        return tuple(ipaddress.ip_network(p, strict=False) for p in parts)

    @property
    def locale_list(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.locales.split()))

    @property
    def catalog_folders(self) -> tuple[Path, ...]:
        """Translation catalogs, lowest priority first (the operator's win)."""
        operator = (self.templates_dir / "locale",) if self.templates_dir else ()
        return (resources.LOCALE, *operator)

    @property
    def rotation_interval(self) -> int | None:
        """Seconds between scheduled rotations, or None when they are off."""
        if self.key_rotation_interval is None:
            shared = self.key_store == "database" and not self.is_sqlite
            return DEFAULT_KEY_ROTATION_INTERVAL if shared else None
        return self.key_rotation_interval or None

    @property
    def longest_signed_token_ttl(self) -> int:
        """How long a signature made now stays relevant to a verifier."""
        return max(self.access_token_ttl, self.id_token_ttl)


def default_data_dir(environ: Mapping[str, str] | None = None) -> Path:
    """`$XDG_DATA_HOME/authserver`, else `~/.local/share/authserver` (XDG Base Directory)."""
    environ = os.environ if environ is None else environ
    xdg = environ.get("XDG_DATA_HOME", "")
    if xdg and Path(xdg).is_absolute():
        return Path(xdg) / "authserver"
    try:
        return Path.home() / ".local" / "share" / "authserver"
    except RuntimeError:  # no HOME and no passwd entry: refused in build_settings
        return Path()


def _sqlite_inside(url: str, data_dir: Path) -> str:
    """A relative SQLite file is inside the data directory, not the current folder."""
    match = re.match(r"(sqlite(?:\+\w+)?:///)([^?]*)(.*)", url)
    if not match:
        return url
    scheme, path, rest = match.groups()
    if not path or path == ":memory:" or path.startswith("/"):
        return url
    return f"{scheme}{data_dir / path}{rest}"


SOURCE_DEFAULT = "default"
SOURCE_ENVIRONMENT = "environment"
SOURCE_COMMAND_LINE = "command line"


def load_settings(
    environ: Mapping[str, str] | None = None,
    env_file: str | None = ".env",
    overrides: Mapping[str, object] | None = None,
) -> Settings:
    """Read ``AUTHSERVER_*`` from ``environ`` (default: the process environment), over an
    optional ``.env`` file, apply ``overrides`` (command-line options), and return
    validated settings or raise ``UnsafeSettings``."""
    return load_settings_with_sources(environ, env_file, overrides)[0]


def load_settings_with_sources(
    environ: Mapping[str, str] | None = None,
    env_file: str | None = ".env",
    overrides: Mapping[str, object] | None = None,
) -> tuple[Settings, dict[str, str]]:
    """``load_settings``, and where each field's value came from: ``environment``, the
    ``.env`` file's path, ``command line`` or ``default``."""
    environ = os.environ if environ is None else environ
    values: dict[str, object] = {}
    sources: dict[str, str] = {}

    def take(items: Mapping[str, str | None], source: str) -> None:
        for key, value in items.items():
            if key.startswith(PREFIX) and value is not None and value != "":
                name = key[len(PREFIX) :].lower()
                values[name], sources[name] = value, source

    if env_file and Path(env_file).is_file():
        take(dotenv_values(env_file), str(Path(env_file).resolve()))
    take(environ, SOURCE_ENVIRONMENT)
    unknown = sorted(k for k in values if k not in Settings.model_fields)
    if unknown:
        raise UnsafeSettings([f"{PREFIX}{k.upper()}: unknown setting" for k in unknown])
    for name, value in (overrides or {}).items():
        values[name], sources[name] = value, SOURCE_COMMAND_LINE
    settings = build_settings(**values)
    return settings, {name: sources.get(name, SOURCE_DEFAULT) for name in Settings.model_fields}


def build_settings(**fields: object) -> Settings:
    """Construct and validate settings from field values (used by tests and the CLI)."""
    if "data_dir" not in fields and default_data_dir() == Path():
        raise UnsafeSettings([f"{PREFIX}DATA_DIR: no home folder to default to; set it"])
    try:
        settings = Settings.model_validate(fields)
    except ValidationError as exc:
        raise UnsafeSettings(
            [f"{PREFIX}{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors()]
        ) from None
    problems = find_problems(settings)
    if problems:
        raise UnsafeSettings(problems)
    return settings


def _is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def find_problems(s: Settings) -> list[str]:
    """Every unsafe or contradictory combination, each naming its variable."""
    problems: list[str] = []
    url = urlsplit(s.issuer)
    if url.scheme not in ("http", "https") or not url.hostname:
        problems.append(f"{PREFIX}ISSUER: must be an absolute http(s) URL")
    elif url.scheme == "http" and not _is_loopback_host(url.hostname):
        # RFC 8414 §2 / OIDC Discovery §3: the issuer MUST use the https scheme.
        problems.append(f"{PREFIX}ISSUER: must use https outside localhost")
    if url.query or url.fragment:
        problems.append(f"{PREFIX}ISSUER: must not have a query or fragment (RFC 8414 §2)")
    if s.issuer.endswith("/"):
        problems.append(f"{PREFIX}ISSUER: must not end with '/'")
    if not (s.is_sqlite or s.database_url.startswith("postgresql")):
        problems.append(
            f"{PREFIX}DATABASE_URL: only sqlite:/// and postgresql+psycopg:// are supported"
        )
    redis_schemes = (
        "redis://",
        "rediss://",
        "unix://",
        "redis+sentinel://",
        "rediss+sentinel://",
        "redis+cluster://",
        "rediss+cluster://",
    )
    if s.redis_url and not s.redis_url.startswith(redis_schemes):
        problems.append(
            f"{PREFIX}REDIS_URL: a redis://, rediss://, unix://, redis+sentinel:// or "
            "redis+cluster:// URL"
        )
    if s.workers > 1 and s.is_sqlite:
        problems.append(
            f"{PREFIX}WORKERS: the embedded SQLite mode is single-process; "
            f"use PostgreSQL ({PREFIX}DATABASE_URL) for several workers"
        )
    if s.workers > 1 and not s.redis_url:
        problems.append(
            f"{PREFIX}WORKERS: several workers need {PREFIX}REDIS_URL so rate limits are shared"
        )
    if s.key_publish_ahead < s.jwks_max_age:
        problems.append(
            f"{PREFIX}KEY_PUBLISH_AHEAD: must be >= {PREFIX}JWKS_MAX_AGE, or verifiers with a "
            "cached JWKS would meet a kid they cannot find"
        )
    problems += _key_problems(s)
    if s.ops_port is not None and s.ops_port == s.port:
        problems.append(f"{PREFIX}OPS_PORT: must differ from {PREFIX}PORT")
    if s.key_size not in (2048, 3072, 4096):
        problems.append(f"{PREFIX}KEY_SIZE: one of 2048, 3072, 4096")
    if s.auth_code_ttl > 60:
        problems.append(
            f"{PREFIX}AUTH_CODE_TTL: at most 60 seconds (single-use, short-lived codes)"
        )
    if s.session_idle_ttl > s.session_absolute_ttl:
        problems.append(f"{PREFIX}SESSION_IDLE_TTL: longer than {PREFIX}SESSION_ABSOLUTE_TTL")
    if s.console_idle_ttl > s.session_idle_ttl:
        problems.append(f"{PREFIX}CONSOLE_IDLE_TTL: longer than {PREFIX}SESSION_IDLE_TTL")
    try:
        s.console_networks  # noqa: B018
    except ValueError as exc:
        problems.append(f"{PREFIX}CONSOLE_ALLOWED_NETWORKS: {exc}")
    if s.access_token_ttl > s.refresh_token_ttl:
        problems.append(f"{PREFIX}ACCESS_TOKEN_TTL: longer than {PREFIX}REFRESH_TOKEN_TTL")
    problems += _mail_problems(s)
    problems += _page_problems(s)
    public = bool(url.hostname) and not _is_loopback_host(url.hostname or "")
    if public and (s.argon2_memory_kib < 19_456 or s.argon2_time_cost < 2):
        problems.append(
            f"{PREFIX}ARGON2_MEMORY_KIB / {PREFIX}ARGON2_TIME_COST: below the OWASP minimum "
            "(19456 KiB, 2 passes) for a public issuer"
        )
    return problems


def _key_problems(s: Settings) -> list[str]:
    problems: list[str] = []
    if s.key_store == "database" and not s.encryption_keys:
        problems.append(
            f"{PREFIX}ENCRYPTION_KEYS: needed with {PREFIX}KEY_STORE=database (the private "
            "signing keys are encrypted with it; every process needs the same keys)"
        )
    interval = s.rotation_interval
    if interval is not None and interval <= s.key_publish_ahead:
        problems.append(
            f"{PREFIX}KEY_ROTATION_INTERVAL: must be longer than {PREFIX}KEY_PUBLISH_AHEAD, "
            "or a new key would be due before the last one signs"
        )
    return problems


def _page_problems(s: Settings) -> list[str]:
    problems: list[str] = []
    if s.templates_dir is not None and not s.templates_dir.is_dir():
        problems.append(f"{PREFIX}TEMPLATES_DIR: {s.templates_dir} is not a folder")
    known = available_locales(s.catalog_folders)
    missing = [tag for tag in s.locale_list if tag not in known]
    if not s.locale_list:
        problems.append(f"{PREFIX}LOCALES: name at least one language")
    if missing:
        problems.append(
            f"{PREFIX}LOCALES: no catalog for {', '.join(missing)} "
            f"(available: {', '.join(sorted(known))})"
        )
    if s.default_locale not in s.locale_list:
        problems.append(f"{PREFIX}DEFAULT_LOCALE: must be one of {PREFIX}LOCALES")
    if not re.fullmatch(r"#[0-9a-fA-F]{6}", s.brand_primary_color):
        problems.append(f"{PREFIX}BRAND_PRIMARY_COLOR: a colour as #rrggbb")
    if any(ch < " " for ch in s.brand_name):
        problems.append(f"{PREFIX}BRAND_NAME: no control characters")
    for field in ("logo", "favicon", "support", "privacy", "terms"):
        value = getattr(s, f"brand_{field}_url")
        if value is not None and not _is_brand_url(value, mailto=field == "support"):
            problems.append(
                f"{PREFIX}BRAND_{field.upper()}_URL: an https URL (http only on localhost)"
                + (", a mailto: address" if field == "support" else "")
                + " or a /static/… path"
            )
    return problems


def _is_brand_url(value: str, *, mailto: bool) -> bool:
    if any(ch <= " " or ch in "\\\"'<>" for ch in value) or len(value) > 2000:
        return False
    if value.startswith("/static/") and ".." not in value:
        return True
    if mailto and value.startswith("mailto:"):
        return "@" in value
    url = urlsplit(value)
    if url.scheme == "https":
        return bool(url.hostname)
    return url.scheme == "http" and _is_loopback_host(url.hostname or "")


def _mail_problems(s: Settings) -> list[str]:
    problems: list[str] = []
    if bool(s.smtp_username) != bool(s.smtp_password):
        problems.append(f"{PREFIX}SMTP_USERNAME / {PREFIX}SMTP_PASSWORD: set both or neither")
    if not s.smtp_host and (s.smtp_username or s.smtp_password):
        problems.append(f"{PREFIX}SMTP_HOST: needed when SMTP credentials are set")
    if s.smtp_username and s.smtp_security == "none":
        problems.append(
            f"{PREFIX}SMTP_SECURITY: credentials would be sent in clear; use starttls or tls"
        )
    if "@" not in parseaddr(s.mail_from)[1]:
        problems.append(f"{PREFIX}MAIL_FROM: not an e-mail address ({s.mail_from!r})")
    return problems
