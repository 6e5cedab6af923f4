"""What an upstream OpenID Provider publishes: its discovery document (OpenID Connect
Discovery 1.0) and its signing keys, fetched with ``federation.http`` and cached per
process (one hour; keys again on an unknown ``kid``, at most every ``MIN_REFETCH``
seconds, so tokens with made-up kids cannot turn into a stream of requests).

The cache is keyed by issuer and key URL: a provider changed to another issuer is
fetched afresh at once, in every process."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from authserver.federation import http
from authserver.federation.http import UpstreamUnavailable
from authserver.federation.urls import upstream_url_problem
from authserver.keys.remote import JwksUnavailable, public_signing_keys

TTL = 3600.0
MIN_REFETCH = 10.0
# Asymmetric signature algorithms only: never `none`, never HMAC with a shared secret
# the upstream would also know (OIDC Core §10.1 allows it; we do not need it).
SIGNING_ALGS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")


@dataclass(frozen=True)
class OidcMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None
    # What the upstream says it signs ID tokens with, among SIGNING_ALGS.
    id_token_algs: tuple[str, ...]
    # RFC 9207 §3: authorization_response_iss_parameter_supported (it sends `iss`).
    sends_iss: bool = False


def parse_metadata(
    document: Any, expected_issuer: str, allow_private: bool, issuer_template: bool = False
) -> OidcMetadata:
    """The fields we use, checked: ``issuer`` exactly the configured one (Discovery §4.3:
    MUST be identical), endpoints absolute https URLs by the upstream URL rule."""
    if not isinstance(document, dict):
        raise UpstreamUnavailable("the discovery document is not a JSON object")
    issuer = document.get("issuer")
    if issuer != expected_issuer and not issuer_template:
        raise UpstreamUnavailable(
            f"the discovery document names the issuer {str(issuer)[:200]!r}, not "
            f"{expected_issuer!r} (OpenID Connect Discovery §4.3)"
        )
    fields: dict[str, str | None] = {}
    for name in ("authorization_endpoint", "token_endpoint", "jwks_uri", "userinfo_endpoint"):
        value = document.get(name)
        if value is None and name == "userinfo_endpoint":
            fields[name] = None
            continue
        problem = upstream_url_problem(value, allow_private) if isinstance(value, str) else "-"
        if problem:
            raise UpstreamUnavailable(f"the discovery document's {name} {problem}")
        fields[name] = value
    offered = document.get("id_token_signing_alg_values_supported") or ["RS256"]
    algs = tuple(a for a in offered if isinstance(a, str) and a in SIGNING_ALGS)
    if not algs:
        raise UpstreamUnavailable("the upstream signs ID tokens with no algorithm we accept")
    return OidcMetadata(
        issuer=str(issuer),
        authorization_endpoint=str(fields["authorization_endpoint"]),
        token_endpoint=str(fields["token_endpoint"]),
        jwks_uri=str(fields["jwks_uri"]),
        userinfo_endpoint=fields["userinfo_endpoint"],
        id_token_algs=algs,
        sends_iss=document.get("authorization_response_iss_parameter_supported") is True,
    )


class UpstreamCache:
    """Discovery documents and key sets of upstreams, per process (thread-safe)."""

    def __init__(self, now: Callable[[], float] = time.monotonic) -> None:
        self._now = now
        self._lock = threading.Lock()
        self._metadata: dict[tuple[str, bool], tuple[float, OidcMetadata]] = {}
        self._keys: dict[str, tuple[float, KeySet]] = {}

    def metadata(
        self, issuer: str, *, allow_private: bool, timeout: float, issuer_template: bool = False
    ) -> OidcMetadata:
        key = (issuer, issuer_template)
        with self._lock:
            hit = self._metadata.get(key)
        if hit and self._now() - hit[0] < TTL:
            return hit[1]
        url = issuer.rstrip("/") + "/.well-known/openid-configuration"
        document = http.get_json(url, allow_private=allow_private, timeout=timeout)
        parsed = parse_metadata(document, issuer, allow_private, issuer_template)
        with self._lock:
            self._metadata[key] = (self._now(), parsed)
        return parsed

    def keys(
        self, jwks_uri: str, *, allow_private: bool, timeout: float, kid: str | None = None
    ) -> KeySet:
        """The upstream's signing keys; fetched again when ``kid`` is not among them
        (the upstream rotated), at most every ``MIN_REFETCH`` seconds."""
        with self._lock:
            hit = self._keys.get(jwks_uri)
        now = self._now()
        if hit and now - hit[0] < TTL:
            known = kid is None or any(k.kid == kid for k in hit[1].keys)
            if known or now - hit[0] < MIN_REFETCH:
                return hit[1]
        document = http.get_json(jwks_uri, allow_private=allow_private, timeout=timeout)
        try:
            keys = public_signing_keys(document)
        except (JwksUnavailable, JoseError, ValueError, TypeError, KeyError) as exc:
            raise UpstreamUnavailable(f"the upstream's keys are unusable: {exc}") from None
        with self._lock:
            self._keys[jwks_uri] = (self._now(), keys)
        return keys
