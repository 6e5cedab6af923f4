"""The long-lived collaborators of one app instance, built in its lifespan."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import redis

from authserver.accounts.passwords import PasswordHasher
from authserver.branding import Brand, brand_of
from authserver.clock import Clock, SystemClock
from authserver.federation.metadata import UpstreamCache
from authserver.i18n.catalogs import Catalogs
from authserver.keys import cookie_secret
from authserver.keys.admin import SigningKeyStore
from authserver.keys.db_store import DatabaseKeyStore
from authserver.keys.envelope import Envelope, build_envelope
from authserver.keys.keyring import KeyRing
from authserver.keys.keystore import KeyStore
from authserver.keys.remote_cache import RemoteJwks
from authserver.mail import MailComposer, Mailer, build_mailer
from authserver.metrics import Metrics
from authserver.settings import Settings
from authserver.storage.client_cache import ClientCache
from authserver.storage.db import Database
from authserver.storage.denylist import DatabaseDenyList, DenyList, RedisDenyList
from authserver.storage.pg_loop import LoopDatabase
from authserver.storage.ratelimit import MemoryRateLimiter, RateLimiter, RedisRateLimiter
from authserver.storage.redis_client import make_redis

# Verifiers may be a little behind or ahead of us.
CLOCK_LEEWAY = 60


@dataclass(frozen=True)
class Services:
    settings: Settings
    clock: Clock
    db: Database
    redis: redis.Redis | None
    # Where the signing keys live (``AUTHSERVER_KEY_STORE``), and this process's view of them.
    key_store: SigningKeyStore
    keys: KeyRing
    denylist: DenyList
    passwords: PasswordHasher
    clients: ClientCache
    # Attempt counters (throttling): Redis, or this process's memory when embedded.
    ratelimiter: RateLimiter
    mailer: Mailer
    mail: MailComposer
    # Translations of the pages and e-mails (``authserver.i18n``), and the branding.
    catalogs: Catalogs
    brand: Brand
    metrics: Metrics
    # Public keys clients publish at their jwks_uri (private_key_jwt), fetched on a
    # small pool of its own (never on protocol_threads).
    remote_jwks: RemoteJwks
    # Upstream identity providers' discovery documents and keys (federation).
    upstreams: UpstreamCache
    # HMAC key for values the server hands out and checks back (CSRF tokens).
    cookie_secret: bytes
    # Encrypts what must be read back (upstream client secrets, TOTP keys, ...).
    envelope: Envelope
    # The threads running the protocol endpoints' unit of work (``web.oauth_bridge``).
    # A plain executor, not anyio's worker threads: its idle workers take the next job
    # off one shared queue without being woken one by one; anyio's hop also goes through
    # a limiter, a cancel scope and an extra checkpoint. Measured: 50-100 us less CPU per
    # signing request at 16 concurrent requests on one core.
    protocol_threads: ThreadPoolExecutor
    # PostgreSQL: the refresh and code grants' statements on the event loop
    # (``storage.pg_loop``; ``REFRESH_ON_EVENT_LOOP``, ``CODE_EXCHANGE_ON_EVENT_LOOP``),
    # None otherwise.
    loop_db: LoopDatabase | None = None


def folder_key_store(settings: Settings) -> KeyStore:
    """The key folder (``KEYS_DIR``): the key store, or what `keys import-folder` reads."""
    return KeyStore(settings.keys_dir, settings.keys_passphrase)


def build_key_store(settings: Settings, db: Database, envelope: Envelope) -> SigningKeyStore:
    if settings.key_store == "database":
        return DatabaseKeyStore(db, envelope)
    return folder_key_store(settings)


def key_grace(settings: Settings) -> float:
    """How long a key stays published after it stops signing."""
    return settings.longest_signed_token_ttl + CLOCK_LEEWAY


def pool_size_for(settings: Settings) -> int:
    """Connections the engine keeps open: at least one per protocol thread. With fewer, the
    threads beyond the pool run on overflow connections, which SQLAlchemy closes as soon
    as they are returned to a full pool: under load that opened a new PostgreSQL
    connection (TCP, authentication, a backend process) for about one request in twelve."""
    return max(settings.db_pool_size, settings.thread_pool_size)


def build_services(settings: Settings, clock: Clock | None = None) -> Services:
    clock = clock or SystemClock()
    db = Database(settings.database_url, pool_size_for(settings))
    client = make_redis(settings.redis_url) if settings.redis_url else None
    catalogs = Catalogs(settings.catalog_folders)
    brand = brand_of(settings)
    secret = cookie_secret.load_or_create(settings.keys_dir, settings.secret_key)
    envelope = build_envelope(settings, secret)
    store = build_key_store(settings, db, envelope)
    denylist: DenyList = (
        RedisDenyList(client, settings.redis_prefix, clock) if client else DatabaseDenyList(clock)
    )
    services = Services(
        settings=settings,
        clock=clock,
        db=db,
        redis=client,
        key_store=store,
        keys=KeyRing(store, clock, key_grace(settings)),
        denylist=denylist,
        passwords=PasswordHasher(
            settings.argon2_time_cost, settings.argon2_memory_kib, settings.argon2_parallelism
        ),
        clients=ClientCache(clock, settings.client_cache_ttl),
        ratelimiter=(
            RedisRateLimiter(client, settings.redis_prefix, clock)
            if client
            else MemoryRateLimiter(clock)
        ),
        mailer=build_mailer(settings),
        mail=MailComposer(
            settings.mail_from,
            catalogs,
            operator_templates=settings.templates_dir,
            default_locale=settings.default_locale,
            brand=brand,
        ),
        catalogs=catalogs,
        brand=brand,
        metrics=Metrics(),
        remote_jwks=RemoteJwks(),
        upstreams=UpstreamCache(),
        cookie_secret=secret,
        envelope=envelope,
        # Threads start on first use, so CLI commands building services pay nothing.
        protocol_threads=ThreadPoolExecutor(
            settings.thread_pool_size, thread_name_prefix="authserver-protocol"
        ),
        loop_db=(
            LoopDatabase(db.engine.url, settings.db_pool_size)
            if (settings.refresh_on_event_loop or settings.code_exchange_on_event_loop)
            and db.engine.dialect.name == "postgresql"
            else None
        ),
    )
    services.metrics.watch_keys(
        lambda: {k: str(v) for k, v in services.keys.snapshot().states.items()}
    )
    return services


def close_services(services: Services) -> None:
    # Let units of work in flight finish (and commit) before the engine goes away.
    services.protocol_threads.shutdown(wait=True)
    services.remote_jwks.close()
    services.db.dispose()
    if services.redis is not None:
        services.redis.close()
