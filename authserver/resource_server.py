"""Verifying authserver's access tokens in another Python service (a resource server).

    from authserver.resource_server import AccessTokenVerifier, RequireAccessToken

    verifier = AccessTokenVerifier(issuer="https://auth.example.com",
                                   audience="https://api.example.com")
    claims = verifier.verify(token, scopes=["orders:read"])   # a plain function, or
    app.add_middleware(RequireAccessToken, verifier=verifier)  # Starlette middleware

``require_mfa=True`` (either form) also demands that the user passed a second factor
(`amr`/`acr` of the token); otherwise the answer is RFC 9470's step-up challenge, 401
``insufficient_user_authentication`` with ``acr_values``, so the client can send the user
back to /authorize with those `acr_values`.

It checks what RFC 9068 §4 asks of a resource server: the RS256 signature against the
issuer's JWKS (fetched once and cached; refetched -- at most every ``min_refetch``
seconds -- when a token names a `kid` it does not know, which is how key rotation shows
up), `typ: at+jwt`, `iss`, `aud`, and `exp`/`nbf`/`iat` with a small leeway.

It cannot see revocation: a revoked token verifies until it expires. Call the server's
introspection endpoint for revocation-sensitive operations, and keep lifetimes short.

Only joserfc and the standard library are needed (Starlette for the middleware), and of
the server's own code only ``authserver.jsonsafe`` (standard library only; it keeps a
deeply nested token header or JWKS from reaching the recursion limit): copy the two modules to use
them in another project.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from authserver.jsonsafe import b64url_json, loads

ALGORITHMS = ["RS256"]
TYP = ("at+jwt", "application/at+jwt")
# The server's multi-factor `acr` (``authserver.mfa.policy``; repeated here so this module
# stays standalone) and the RFC 8176 methods that make a login multi-factor.
ACR_MULTI_FACTOR = "urn:authserver:loa:2fa"
SECOND_FACTORS = frozenset({"mfa", "otp", "hwk", "swk"})


class InvalidToken(Exception):
    """The token is malformed, wrongly signed, expired, or not for this audience."""


class InsufficientScope(Exception):
    """The token is valid but lacks a required scope."""

    def __init__(self, missing: Sequence[str]) -> None:
        super().__init__("missing scope: " + " ".join(missing))
        self.missing = list(missing)


class InsufficientAuthentication(Exception):
    """The token is valid but the user did not pass a second factor (RFC 9470 §3)."""

    def __init__(self) -> None:
        super().__init__("a second factor is required")
        self.acr_values = ACR_MULTI_FACTOR


def is_multi_factor(claims: dict[str, Any]) -> bool:
    """Whether the token's user passed more than one factor (RFC 8176 `amr`, or our
    multi-factor `acr`)."""
    amr = claims.get("amr")
    methods = set(amr) if isinstance(amr, list) else set()
    return bool(methods & SECOND_FACTORS) or claims.get("acr") == ACR_MULTI_FACTOR


def fetch_json(url: str, timeout: float = 5.0) -> Any:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        return loads(response.read(1024 * 1024))


class AccessTokenVerifier:
    def __init__(
        self,
        issuer: str,
        audience: str | Iterable[str],
        *,
        jwks_uri: str | None = None,
        leeway: int = 30,
        cache_ttl: float = 3600.0,
        min_refetch: float = 30.0,
        fetch: Callable[[str], Any] = fetch_json,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.issuer = issuer.rstrip("/")
        self.audiences = {audience} if isinstance(audience, str) else set(audience)
        self.jwks_uri = jwks_uri or f"{self.issuer}/.well-known/jwks.json"
        self.leeway = leeway
        self.cache_ttl = cache_ttl
        self.min_refetch = min_refetch
        self._fetch = fetch
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: KeySet | None = None
        self._kids: frozenset[str] = frozenset()
        self._fetched_at = float("-inf")

    # --- keys ------------------------------------------------------------------------------

    def needs_fetch(self, kid: str | None) -> bool:
        """Whether ``verify`` would go to the network for this `kid` (for async callers,
        which should then run it in a thread)."""
        now = time.monotonic()
        if self._keys is None or now - self._fetched_at > self.cache_ttl:
            return True
        return kid not in self._kids and now - self._fetched_at > self.min_refetch

    def _keys_for(self, kid: str | None) -> KeySet:
        if self.needs_fetch(kid):
            with self._lock:
                if self.needs_fetch(kid):
                    try:
                        keys = KeySet.import_key_set(self._fetch(self.jwks_uri))
                    except (OSError, ValueError, JoseError) as exc:
                        if self._keys is None:
                            raise InvalidToken(f"cannot fetch the JWKS: {exc}") from exc
                        keys = self._keys  # keep serving with what we have
                    self._keys = keys
                    self._kids = frozenset(k.kid for k in keys.keys if k.kid)
                    self._fetched_at = time.monotonic()
        assert self._keys is not None
        return self._keys

    @staticmethod
    def kid_of(token: str) -> str | None:
        try:
            data = b64url_json(token.split(".", 1)[0])
        except ValueError:
            return None
        kid = data.get("kid") if isinstance(data, dict) else None
        return kid if isinstance(kid, str) else None

    # --- tokens ----------------------------------------------------------------------------

    def verify(
        self, token: str, *, scopes: Iterable[str] = (), require_mfa: bool = False
    ) -> dict[str, Any]:
        """The token's claims, or ``InvalidToken`` / ``InsufficientScope`` /
        ``InsufficientAuthentication`` (``require_mfa``: no second factor)."""
        if not token or len(token) > 8192 or token.count(".") != 2:
            raise InvalidToken("not a JWT")
        keys = self._keys if self._keys is not None and not self.needs_fetch(None) else None
        try:
            decoded = jwt.decode(token, keys or self._keys_for(None), algorithms=ALGORITHMS)
        except (JoseError, ValueError, TypeError, KeyError) as exc:
            # Perhaps a key we have not seen yet (a rotation): look once more, by kid.
            kid = self.kid_of(token)
            if kid is None or kid in self._kids or not self.needs_fetch(kid):
                raise InvalidToken("bad signature, format or signing key") from exc
            try:
                decoded = jwt.decode(token, self._keys_for(kid), algorithms=ALGORITHMS)
            except (JoseError, ValueError, TypeError, KeyError) as again:
                raise InvalidToken("bad signature, format or signing key") from again
        if str(decoded.header.get("typ", "")).lower() not in TYP:
            raise InvalidToken("not an access token (typ)")
        claims = decoded.claims
        self._check_claims(claims)
        if scopes:
            granted = str(claims.get("scope", "")).split()
            missing = [s for s in scopes if s not in granted]
            if missing:
                raise InsufficientScope(missing)
        if require_mfa and not is_multi_factor(claims):
            raise InsufficientAuthentication()
        return claims

    def _check_claims(self, claims: dict[str, Any]) -> None:
        now = self._clock()
        if claims.get("iss") != self.issuer:
            raise InvalidToken("wrong issuer")
        aud = claims.get("aud")
        auds = {aud} if isinstance(aud, str) else set(aud or [])
        if not auds & self.audiences:
            raise InvalidToken("wrong audience")
        exp = claims.get("exp")
        if not isinstance(exp, int | float) or exp + self.leeway <= now:
            raise InvalidToken("expired")
        nbf = claims.get("nbf")
        if isinstance(nbf, int | float) and nbf - self.leeway > now:
            raise InvalidToken("not yet valid")
        iat = claims.get("iat")
        if isinstance(iat, int | float) and iat - self.leeway > now:
            raise InvalidToken("issued in the future")


class RequireAccessToken:
    """Starlette/ASGI middleware: every HTTP request needs a valid bearer token (except
    under the ``exempt`` paths, matched by whole segments: ``/health`` exempts ``/health``
    and ``/health/live``, not ``/healthcare``). The claims land in
    ``request.state.access_token``; failures answer 401/403 with ``WWW-Authenticate``
    (RFC 6750 §3)."""

    def __init__(
        self,
        app: Any,
        verifier: AccessTokenVerifier,
        scopes: Iterable[str] = (),
        exempt: Iterable[str] = (),
        require_mfa: bool = False,
    ) -> None:
        self.app = app
        self.verifier = verifier
        self.scopes = list(scopes)
        self.require_mfa = require_mfa
        self.exempt = tuple(p.rstrip("/") for p in exempt)

    def is_exempt(self, path: str) -> bool:
        return any(path == p or path.startswith(p + "/") for p in self.exempt)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or self.is_exempt(scope["path"]):
            await self.app(scope, receive, send)
            return
        header = next((v for k, v in scope["headers"] if k == b"authorization"), b"")
        kind, _, token = header.decode("latin-1").partition(" ")
        if kind.lower() != "bearer" or not token:
            await _deny(send, 401, None)
            return
        try:
            if self.verifier.needs_fetch(self.verifier.kid_of(token)):
                from starlette.concurrency import run_in_threadpool

                claims = await run_in_threadpool(
                    self.verifier.verify, token, scopes=self.scopes, require_mfa=self.require_mfa
                )
            else:
                claims = self.verifier.verify(
                    token, scopes=self.scopes, require_mfa=self.require_mfa
                )
        except InsufficientScope as exc:
            await _deny(send, 403, "insufficient_scope", " ".join(exc.missing))
            return
        except InsufficientAuthentication as exc:
            # RFC 9470 §3: 401 with the acr_values that would do.
            await _deny(send, 401, "insufficient_user_authentication", acr_values=exc.acr_values)
            return
        except InvalidToken:
            await _deny(send, 401, "invalid_token")
            return
        scope.setdefault("state", {})["access_token"] = claims
        await self.app(scope, receive, send)


async def _deny(
    send: Any,
    status: int,
    error: str | None,
    scope: str | None = None,
    *,
    acr_values: str | None = None,
) -> None:
    challenge = "Bearer"
    if error:
        challenge += f' error="{error}"'
    if scope:
        challenge += f', scope="{scope}"'
    if acr_values:
        challenge += f', acr_values="{acr_values}"'
    body = json.dumps({"error": error or "unauthorized"}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"www-authenticate", challenge.encode()),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
