"""Registering clients: metadata validated once, for the CLI, the admin API and dynamic
registration alike. The secret of a confidential client is returned once and stored
only as its hash."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from authserver import text
from authserver.clock import Clock, to_datetime
from authserver.errors import Conflict, InvalidInput, NotFound
from authserver.hashing import new_identifier, new_secret, secret_hash
from authserver.storage.db import UnitOfWork
from authserver.storage.models import Client

AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt", "none")
# Methods whose clients hold a shared secret.
SECRET_METHODS = ("client_secret_basic", "client_secret_post")
GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials", "password")
# RFC 6749 A.1: client-id = *VSCHAR; we also leave out the space.
CLIENT_ID = re.compile(r"[\x21-\x7e]{1,100}")
# RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")
LOOPBACK = ("localhost", "127.0.0.1", "::1")
# RFC 7591 §2 metadata the hosted pages show: the app's home page, logo, privacy policy
# and terms. Kept in ``extra_metadata``; https only (§5: shown to the user, so a
# `javascript:` or plain-http URL is refused).
DISPLAY_URIS = ("client_uri", "logo_uri", "policy_uri", "tos_uri")


@dataclass
class ClientSpec:
    name: str
    grant_types: list[str]
    scope: str
    token_endpoint_auth_method: str = "client_secret_basic"
    client_id: str | None = None
    redirect_uris: list[str] = field(default_factory=list)
    post_logout_redirect_uris: list[str] = field(default_factory=list)
    first_party: bool = False
    refresh_without_offline_access: bool = False
    # Its users must have verified their e-mail address before it gets a code.
    require_verified_email: bool = False
    require_mfa: bool = False
    audience: list[str] = field(default_factory=list)
    # May introspect every access token, not only its own and those naming it (RFC 7662 §4).
    allow_introspection: bool = False
    allowed_cors_origins: list[str] = field(default_factory=list)
    # private_key_jwt: the client's public keys, inline (a JWK Set) or by https URL.
    jwks: dict[str, Any] | None = None
    jwks_uri: str | None = None
    # Other RFC 7591 metadata kept as registered (client_uri, logo_uri, contacts, ...).
    extra_metadata: dict[str, Any] = field(default_factory=dict)


def redirect_uri_problem(uri: str) -> str | None:
    """RFC 6749 §3.1.2 and RFC 8252 §7: absolute, no fragment; https, http on a loopback
    host (native and development clients), or a private-use scheme with a dot."""
    if len(uri) > 2000:
        return "is too long"
    try:
        parts = urlsplit(uri)
    except ValueError:
        return "is not a URI"
    if not parts.scheme:
        return "must be absolute"
    if parts.fragment or "#" in uri:
        return "must not have a fragment"
    if parts.scheme == "https" and parts.hostname:
        return None
    if parts.scheme == "http" and parts.hostname in LOOPBACK:
        return None
    if parts.scheme not in ("http", "https") and "." in parts.scheme:
        return None
    return "must use https (http only on localhost, or a private-use scheme like com.example.app)"


def display_uri_problem(uri: object) -> str | None:
    """A URL a page shows as a link or an image: https with a host, printable, short."""
    if not isinstance(uri, str):
        return "must be a string"
    if len(uri) > 2000 or any(ch <= " " or ch in "\"'<>\\`" or ch == "\x7f" for ch in uri):
        return "must be a short URL without spaces, quotes or angle brackets"
    try:
        parts = urlsplit(uri)
    except ValueError:
        return "is not a URL"
    if parts.scheme != "https" or not parts.hostname or parts.username or parts.password:
        return "must be an https URL"
    return None


def origin_problem(origin: str) -> str | None:
    parts = urlsplit(origin)
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.path or parts.query:
        return "must be an origin such as https://app.example.com"
    if parts.scheme == "http" and parts.hostname not in LOOPBACK:
        return "must use https outside localhost"
    return None


def spec_problems(spec: ClientSpec) -> list[str]:
    problems = []
    if not spec.name.strip() or len(spec.name) > 200:
        problems.append("name: required, at most 200 characters")
    elif not text.displayable(spec.name):
        # Shown to users on the login and consent pages: a bidi override would let a name
        # read as another's (consent phishing).
        problems.append("name: no control characters or bidirectional formatting characters")
    if spec.client_id is not None and not CLIENT_ID.fullmatch(spec.client_id):
        problems.append("client_id: 1-100 printable ASCII characters, no spaces")
    if spec.token_endpoint_auth_method not in AUTH_METHODS:
        problems.append(f"token_endpoint_auth_method: one of {', '.join(AUTH_METHODS)}")
    unknown = [g for g in spec.grant_types if g not in GRANT_TYPES]
    if unknown or not spec.grant_types:
        problems.append(f"grant_types: one or more of {', '.join(GRANT_TYPES)}")
    public = spec.token_endpoint_auth_method == "none"
    if public and "client_credentials" in spec.grant_types:
        problems.append(
            "grant_types: client_credentials needs a confidential client (RFC 6749 §4.4)"
        )
    if "refresh_token" in spec.grant_types and not (
        {"authorization_code", "password"} & set(spec.grant_types)
    ):
        problems.append("grant_types: refresh_token needs authorization_code or password")
    if "authorization_code" in spec.grant_types and not spec.redirect_uris:
        problems.append("redirect_uris: at least one for the authorization_code grant")
    for uri in [*spec.redirect_uris, *spec.post_logout_redirect_uris]:
        problem = redirect_uri_problem(uri)
        if problem:
            problems.append(f"redirect URI {uri!r} {problem}")
    for origin in spec.allowed_cors_origins:
        problem = origin_problem(origin)
        if problem:
            problems.append(f"origin {origin!r} {problem}")
    for key in DISPLAY_URIS:
        if key in spec.extra_metadata and spec.extra_metadata[key] is not None:
            problem = display_uri_problem(spec.extra_metadata[key])
            if problem:
                problems.append(f"{key} {problem}")
    problems += key_problems(spec)
    scopes = spec.scope.split()
    if not scopes or not all(SCOPE_TOKEN.fullmatch(s) for s in scopes) or len(spec.scope) > 2000:
        problems.append("scope: one or more space-separated scope tokens (RFC 6749 §3.3)")
    return problems


def key_problems(spec: ClientSpec) -> list[str]:
    """private_key_jwt (RFC 7523 §2.2): exactly one of jwks / jwks_uri, public keys only."""
    if spec.token_endpoint_auth_method != "private_key_jwt":
        if spec.jwks or spec.jwks_uri:
            return ["jwks / jwks_uri: only for token_endpoint_auth_method private_key_jwt"]
        return []
    if bool(spec.jwks) == bool(spec.jwks_uri):
        return ["private_key_jwt needs exactly one of jwks and jwks_uri (RFC 7591 §2)"]
    if spec.jwks_uri:
        parts = urlsplit(spec.jwks_uri)
        if parts.scheme != "https" or not parts.hostname or len(spec.jwks_uri) > 2000:
            return ["jwks_uri must be an https URL"]
        return []
    try:
        keys = KeySet.import_key_set(spec.jwks)  # type: ignore[arg-type]
    except (JoseError, ValueError, TypeError, KeyError):
        return ["jwks: not a valid JWK Set"]
    if not keys.keys or any(k.is_private for k in keys.keys):
        return ["jwks: one or more public keys, and no private key material"]
    return []


def with_display_uri(extra: dict[str, Any], name: str, value: object) -> dict[str, Any]:
    """``extra`` with ``name`` set to ``value`` (None or "" removes it)."""
    updated = {k: v for k, v in extra.items() if k != name}
    if value not in (None, ""):
        updated[name] = value
    return updated


def register_client(uow: UnitOfWork, clock: Clock, spec: ClientSpec) -> tuple[Client, str | None]:
    """Validate and store a client; returns it and, for a confidential client, the
    plaintext secret (shown this once)."""
    problems = spec_problems(spec)
    if problems:
        raise InvalidInput("; ".join(problems))
    client_id = spec.client_id or new_identifier(16)
    if uow.clients.get(client_id) is not None:
        raise Conflict(f"client {client_id} already exists")
    secret = new_secret(32) if spec.token_endpoint_auth_method in SECRET_METHODS else None
    now = to_datetime(clock.now())
    client = uow.clients.add(
        Client(
            client_id=client_id,
            secret_hash=secret_hash(secret) if secret else None,
            name=spec.name.strip(),
            token_endpoint_auth_method=spec.token_endpoint_auth_method,
            grant_types=list(dict.fromkeys(spec.grant_types)),
            response_types=["code"] if "authorization_code" in spec.grant_types else [],
            redirect_uris=list(dict.fromkeys(spec.redirect_uris)),
            post_logout_redirect_uris=list(dict.fromkeys(spec.post_logout_redirect_uris)),
            scope=" ".join(dict.fromkeys(spec.scope.split())),
            first_party=spec.first_party,
            refresh_without_offline_access=spec.refresh_without_offline_access,
            require_verified_email=spec.require_verified_email,
            require_mfa=spec.require_mfa,
            allowed_cors_origins=list(dict.fromkeys(spec.allowed_cors_origins)),
            audience=list(spec.audience),
            allow_introspection=spec.allow_introspection,
            jwks=spec.jwks,
            jwks_uri=spec.jwks_uri,
            extra_metadata=dict(spec.extra_metadata),
            created_at=now,
            updated_at=now,
        )
    )
    return client, secret


def rotate_secret(uow: UnitOfWork, clock: Clock, client_id: str) -> str:
    client = uow.clients.get(client_id)
    if client is None:
        raise NotFound(f"no client {client_id}")
    if client.token_endpoint_auth_method not in SECRET_METHODS:
        raise InvalidInput("this client authenticates without a shared secret")
    secret = new_secret(32)
    client.secret_hash = secret_hash(secret)
    client.updated_at = to_datetime(clock.now())
    return secret


def spec_of(client: Client) -> ClientSpec:
    return ClientSpec(
        name=client.name,
        client_id=client.client_id,
        token_endpoint_auth_method=client.token_endpoint_auth_method,
        grant_types=list(client.grant_types),
        scope=client.scope,
        redirect_uris=list(client.redirect_uris),
        post_logout_redirect_uris=list(client.post_logout_redirect_uris),
        first_party=client.first_party,
        refresh_without_offline_access=client.refresh_without_offline_access,
        require_verified_email=client.require_verified_email,
        require_mfa=client.require_mfa,
        audience=list(client.audience),
        allow_introspection=client.allow_introspection,
        allowed_cors_origins=list(client.allowed_cors_origins),
        jwks=client.jwks,
        jwks_uri=client.jwks_uri,
        extra_metadata=dict(client.extra_metadata),
    )


def update_client(
    uow: UnitOfWork, clock: Clock, client_id: str, changes: dict[str, object]
) -> tuple[Client, list[str]]:
    """Apply ``changes`` (fields of ``ClientSpec`` except the id and auth method) after
    validating the client as a whole; returns it and the names of the fields changed."""
    client = uow.clients.get(client_id)
    if client is None:
        raise NotFound(f"no client {client_id}")
    spec = spec_of(client)
    for name, value in changes.items():
        if name in DISPLAY_URIS:
            spec.extra_metadata = with_display_uri(spec.extra_metadata, name, value)
            continue
        if name in ("client_id", "token_endpoint_auth_method") or not hasattr(spec, name):
            raise InvalidInput(f"{name} cannot be changed")
        setattr(spec, name, value)
    problems = spec_problems(spec)
    if problems:
        raise InvalidInput("; ".join(problems))
    before = spec_of(client)
    changed = [
        n
        for n in changes
        if (
            before.extra_metadata.get(n) != spec.extra_metadata.get(n)
            if n in DISPLAY_URIS
            else getattr(before, n) != getattr(spec, n)
        )
    ]
    client.name = spec.name.strip()
    client.grant_types = list(dict.fromkeys(spec.grant_types))
    client.response_types = ["code"] if "authorization_code" in spec.grant_types else []
    client.scope = " ".join(dict.fromkeys(spec.scope.split()))
    client.redirect_uris = list(dict.fromkeys(spec.redirect_uris))
    client.post_logout_redirect_uris = list(dict.fromkeys(spec.post_logout_redirect_uris))
    client.first_party = spec.first_party
    client.refresh_without_offline_access = spec.refresh_without_offline_access
    client.require_verified_email = spec.require_verified_email
    client.require_mfa = spec.require_mfa
    client.audience = list(spec.audience)
    client.allow_introspection = spec.allow_introspection
    client.allowed_cors_origins = list(dict.fromkeys(spec.allowed_cors_origins))
    client.jwks, client.jwks_uri = spec.jwks, spec.jwks_uri
    client.extra_metadata = dict(spec.extra_metadata)
    client.updated_at = to_datetime(clock.now())
    return client, changed
