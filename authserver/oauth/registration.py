"""Dynamic client registration (RFC 7591) and its management protocol (RFC 7592).

Registration needs an initial access token (RFC 7591 §3); the answer carries a
registration access token (stored hashed) that later reads, replaces or deletes the
registration. Metadata is validated by the same rules as every other registration
(``client_registry``), plus what a self-registering client may not ask for: the password
grant, skipping consent, scopes outside ``registration_allowed_scopes``."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from authserver.clock import Clock, to_datetime, to_timestamp
from authserver.errors import InvalidInput
from authserver.hashing import matches_hash, new_secret, secret_hash
from authserver.oauth import client_registry
from authserver.settings import Settings
from authserver.storage.db import UnitOfWork
from authserver.storage.models import Client, InitialAccessToken

# RFC 7591 §2 metadata we keep as registered but do not act on.
INFORMATIONAL = (
    "client_uri",
    "logo_uri",
    "tos_uri",
    "policy_uri",
    "contacts",
    "software_id",
    "software_version",
)
SUPPORTED = {
    "redirect_uris",
    "token_endpoint_auth_method",
    "grant_types",
    "response_types",
    "client_name",
    "scope",
    "jwks",
    "jwks_uri",
    "post_logout_redirect_uris",
    "id_token_signed_response_alg",
    *INFORMATIONAL,
}
DCR_GRANTS = {"authorization_code", "refresh_token", "client_credentials"}
# RFC 7591 §2: the JSON type of each field we read (list = an array of strings).
ARRAYS = ("redirect_uris", "post_logout_redirect_uris", "grant_types", "response_types", "contacts")
TYPES: dict[str, type] = {
    **{name: str for name in SUPPORTED},
    **{name: list for name in ARRAYS},
    "jwks": dict,
}
TYPE_NAMES = {list: "an array of strings", dict: "a JSON object", str: "a string"}


class RegistrationError(Exception):
    """RFC 7591 §3.2.2: ``invalid_redirect_uri`` or ``invalid_client_metadata``."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error, self.description = error, description


@dataclass(frozen=True)
class InitialTokenUse:
    """What presenting an initial access token came to: ``refused`` is None when it was
    accepted (and one use counted), else why not. ``token_id`` names a token of ours in
    the audit log (a prefix of its hash; never the token)."""

    refused: str | None
    token_id: str | None = None
    uses: int = 0
    max_uses: int | None = None


def token_id(token_hash: str) -> str:
    return token_hash[:16]


def issue_initial_token(
    uow: UnitOfWork,
    clock: Clock,
    description: str,
    expires_in: int,
    max_uses: int | None = None,
) -> str:
    """A new initial access token (shown once, stored hashed), valid ``expires_in``
    seconds and, with ``max_uses``, for that many registrations."""
    if expires_in <= 0:
        raise InvalidInput("expires-in: a positive number of seconds")
    if max_uses is not None and max_uses <= 0:
        raise InvalidInput("max-uses: a positive number")
    token = new_secret(32)
    now = to_datetime(clock.now())
    uow.initial_access_tokens.add(
        InitialAccessToken(
            token_hash=secret_hash(token),
            description=description[:200],
            created_at=now,
            expires_at=now + timedelta(seconds=expires_in),
            max_uses=max_uses,
            uses=0,
        )
    )
    return token


def use_initial_token(uow: UnitOfWork, clock: Clock, token: str | None) -> InitialTokenUse:
    """Count one use of an initial access token if it is live: not revoked, not expired,
    uses left. The count is one
    conditional UPDATE, so concurrent registrations on any number of processes never
    exceed ``max_uses``; it is part of the caller's transaction, so a registration that
    fails its metadata check uses nothing."""
    if not token or len(token) >= 200:
        return InitialTokenUse("unknown")
    digest = secret_hash(token)
    now = to_datetime(clock.now())
    if uow.initial_access_tokens.claim_use(digest, now):
        record = uow.initial_access_tokens.get(digest)
        assert record is not None
        return InitialTokenUse(None, token_id(digest), record.uses, record.max_uses)
    record = uow.initial_access_tokens.get(digest)
    if record is None:
        return InitialTokenUse("unknown")
    if record.revoked_at is not None:
        reason = "revoked"
    elif record.expires_at <= now:
        reason = "expired"
    else:
        reason = "used_up"
    return InitialTokenUse(reason, token_id(digest), record.uses, record.max_uses)


def typed_metadata(meta: dict[str, Any]) -> dict[str, Any]:
    """The fields we read, each of its RFC 7591 type (a JSON null counts as left out);
    metadata we do not understand is ignored, not stored (§2)."""
    typed = {}
    for name, kind in TYPES.items():
        value = meta.get(name)
        if value is None:
            continue
        if not isinstance(value, kind) or (
            kind is list and not all(isinstance(v, str) for v in value)
        ):
            raise RegistrationError("invalid_client_metadata", f"{name} must be {TYPE_NAMES[kind]}")
        typed[name] = value
    return typed


def spec_from_metadata(
    settings: Settings, raw: dict[str, Any], client_id: str | None = None
) -> client_registry.ClientSpec:
    meta = typed_metadata(raw)
    extra = {k: meta[k] for k in INFORMATIONAL if k in meta}
    grants = meta.get("grant_types", ["authorization_code"])
    responses = meta.get("response_types", ["code"] if "authorization_code" in grants else [])
    if set(grants) - DCR_GRANTS:
        raise RegistrationError(
            "invalid_client_metadata", f"grant_types: only {', '.join(sorted(DCR_GRANTS))}"
        )
    # RFC 7591 §2.1: grant types and response types must agree.
    if ("code" in responses) != ("authorization_code" in grants) or set(responses) - {"code"}:
        raise RegistrationError(
            "invalid_client_metadata",
            'response_types must be ["code"] exactly with authorization_code',
        )
    alg = meta.get("id_token_signed_response_alg", "RS256")
    if alg != "RS256":
        raise RegistrationError("invalid_client_metadata", "id_token_signed_response_alg: RS256")
    allowed = settings.registration_allowed_scopes.split()
    scope = meta.get("scope", "openid")
    if not set(scope.split()) <= set(allowed):
        raise RegistrationError(
            "invalid_client_metadata", f"scope: a subset of {' '.join(allowed)}"
        )
    name = meta.get("client_name", "Unnamed client")
    method = meta.get("token_endpoint_auth_method", "client_secret_basic")
    spec = client_registry.ClientSpec(
        name=name,
        client_id=client_id,
        token_endpoint_auth_method=method,
        grant_types=grants,
        scope=scope,
        redirect_uris=meta.get("redirect_uris", []),
        post_logout_redirect_uris=meta.get("post_logout_redirect_uris", []),
        jwks=meta.get("jwks"),
        jwks_uri=meta.get("jwks_uri"),
        extra_metadata=extra,
    )
    problems = client_registry.spec_problems(spec)
    if problems:
        code = (
            "invalid_redirect_uri"
            if any("redirect" in p for p in problems)
            else "invalid_client_metadata"
        )
        raise RegistrationError(code, "; ".join(problems))
    return spec


def metadata_of(client: Client, issuer: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "client_id": client.client_id,
        "client_id_issued_at": int(to_timestamp(client.created_at)),
        "client_name": client.name,
        "token_endpoint_auth_method": client.token_endpoint_auth_method,
        "grant_types": list(client.grant_types),
        "response_types": list(client.response_types),
        "redirect_uris": list(client.redirect_uris),
        "post_logout_redirect_uris": list(client.post_logout_redirect_uris),
        "scope": client.scope,
        "id_token_signed_response_alg": "RS256",
        "registration_client_uri": f"{issuer}/oauth/register/{client.client_id}",
        **client.extra_metadata,
    }
    if client.jwks:
        out["jwks"] = client.jwks
    if client.jwks_uri:
        out["jwks_uri"] = client.jwks_uri
    if client.secret_hash:
        out["client_secret_expires_at"] = 0
    return out


def register(
    uow: UnitOfWork, clock: Clock, settings: Settings, meta: dict[str, Any]
) -> dict[str, Any]:
    spec = spec_from_metadata(settings, meta, client_id=f"dcr-{uuid.uuid4().hex}")
    try:
        client, secret = client_registry.register_client(uow, clock, spec)
    except InvalidInput as exc:
        raise RegistrationError("invalid_client_metadata", str(exc)) from None
    token = new_secret(32)
    client.registration_access_token_hash = secret_hash(token)
    out = metadata_of(client, settings.issuer)
    out["registration_access_token"] = token
    if secret:
        out["client_secret"] = secret
    return out


def authorize_management(uow: UnitOfWork, client_id: str, token: str) -> Client | None:
    """RFC 7592 §2: the client this registration access token manages, or None."""
    client = uow.clients.get(client_id)
    if client is None or not matches_hash(token, client.registration_access_token_hash):
        return None
    return client


def replace(
    uow: UnitOfWork, clock: Clock, settings: Settings, client: Client, meta: dict[str, Any]
) -> dict[str, Any]:
    """RFC 7592 §2.2: the sent metadata replaces the registration (the id, auth method and
    secret stay; a sent client_secret must be the current one)."""
    if meta.get("client_id") != client.client_id:
        raise RegistrationError("invalid_client_metadata", "client_id must match")
    if "client_secret" in meta and not matches_hash(str(meta["client_secret"]), client.secret_hash):
        raise RegistrationError("invalid_client_metadata", "client_secret does not match")
    if (
        meta.get("token_endpoint_auth_method", client.token_endpoint_auth_method)
        != client.token_endpoint_auth_method
    ):
        raise RegistrationError(
            "invalid_client_metadata", "token_endpoint_auth_method cannot change"
        )
    spec = spec_from_metadata(
        settings,
        {**meta, "token_endpoint_auth_method": client.token_endpoint_auth_method},
        client_id=client.client_id,
    )
    changes = {
        k: getattr(spec, k)
        for k in (
            "name",
            "grant_types",
            "scope",
            "redirect_uris",
            "post_logout_redirect_uris",
            "jwks",
            "jwks_uri",
            "extra_metadata",
        )
    }
    try:
        updated, _ = client_registry.update_client(uow, clock, client.client_id, changes)
    except InvalidInput as exc:
        raise RegistrationError("invalid_client_metadata", str(exc)) from None
    return metadata_of(updated, settings.issuer)
