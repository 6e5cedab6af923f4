"""One round trip to an upstream, per kind: the authorization URL to send the browser
to, and from the code it comes back with, the person's profile (OIDC: the validated ID
token; GitHub: its user API)."""

from __future__ import annotations

import base64
import hashlib
import time
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from authserver.federation import github, http, kinds, providers
from authserver.federation.config import ProviderSettings
from authserver.federation.fresh import FreshAuth, instant
from authserver.federation.http import UpstreamUnavailable
from authserver.federation.id_token import IdTokenRejected, verify
from authserver.federation.metadata import OidcMetadata, UpstreamCache
from authserver.federation.profile import UpstreamProfile, from_claims, shown_claims
from authserver.keys.envelope import Envelope
from authserver.storage.models import IdentityProvider


class UpstreamRejected(Exception):
    """The upstream's answer must not be trusted or says no; ``reason`` for the audit."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.reason, self.detail = reason, detail


@dataclass(frozen=True)
class Upstream:
    """A provider as one round trip needs it."""

    provider_id: str
    kind: str
    settings: ProviderSettings
    groups_claim: str
    client_secret: str | None
    redirect_uri: str
    allow_private: bool
    timeout: float
    cache: UpstreamCache
    # ``profile``'s one wall-clock deadline (``time.monotonic()``): the callback's
    # requests (token, keys, userinfo; GitHub's APIs) take ``timeout`` together.
    deadline: float | None = None

    def time_left(self) -> float:
        """The timeout of the next request: ``timeout``, or what is left before the
        deadline (``UpstreamUnavailable`` once it passed: no request is made)."""
        if self.deadline is None:
            return self.timeout
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise UpstreamUnavailable(f"{self.provider_id}: TimeoutError (the timeout is spent)")
        return left

    @property
    def client_id(self) -> str:
        return self.settings.client_id or ""

    @property
    def is_oidc(self) -> bool:
        return kinds.KINDS[self.kind].protocol == "oidc"


def of(
    provider: IdentityProvider,
    *,
    envelope: Envelope,
    issuer: str,
    allow_private: bool,
    timeout: float,
    cache: UpstreamCache,
) -> Upstream:
    config = providers.config_of(provider)
    return Upstream(
        provider_id=provider.id,
        kind=provider.kind,
        settings=config.settings,
        groups_claim=config.mapping.groups_claim,
        client_secret=providers.client_secret(envelope, provider),
        redirect_uri=issuer + providers.callback_path(provider.id),
        allow_private=allow_private,
        timeout=timeout,
        cache=cache,
    )


def s256(verifier: str) -> str:
    """RFC 7636 §4.2: BASE64URL(SHA256(ASCII(code_verifier)))."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def oidc_metadata(up: Upstream) -> OidcMetadata:
    """The OIDC upstream's discovery document (cached)."""
    return _metadata(up)


def _metadata(up: Upstream) -> OidcMetadata:
    issuer = kinds.issuer_of(up.kind, up.settings) or ""
    multi = up.kind == "microsoft" and up.settings.tenant in kinds.MICROSOFT_MULTI
    return up.cache.metadata(
        issuer, allow_private=up.allow_private, timeout=up.time_left(), issuer_template=multi
    )


def authorization_url(
    up: Upstream, state: str, nonce: str, verifier: str, fresh: FreshAuth | None = None
) -> str:
    params = {
        "response_type": "code",
        "client_id": up.client_id,
        "redirect_uri": up.redirect_uri,
        "scope": " ".join(up.settings.scopes or ()),
        "state": state,
        "code_challenge": s256(verifier),
        "code_challenge_method": "S256",
    }
    if up.is_oidc:
        endpoint = _metadata(up).authorization_endpoint
        params["nonce"] = nonce
        if up.kind == "google" and up.settings.hosted_domain:
            params["hd"] = up.settings.hosted_domain
        if fresh is not None:
            # OIDC Core §3.1.2.1: `prompt=login` and the RP's `max_age`. (GitHub has no
            # such parameter: its answer carries no auth_time, and the callback refuses.)
            params.update(fresh.query())
    else:
        endpoint = github.AUTHORIZE
    joiner = "&" if urlsplit(endpoint).query else "?"
    return endpoint + joiner + urlencode(params, quote_via=quote)


def _token_request(up: Upstream, endpoint: str, code: str, verifier: str) -> dict[str, Any]:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": up.redirect_uri,
        "code_verifier": verifier,
    }
    headers: dict[str, str] = {}
    if up.client_secret is not None:
        # RFC 6749 §2.3.1: both parts form-urlencoded before Basic.
        pair = f"{quote(up.client_id, safe='')}:{quote(up.client_secret, safe='')}"
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
    else:
        form["client_id"] = up.client_id
    answer = http.request(
        "POST",
        endpoint,
        allow_private=up.allow_private,
        timeout=up.time_left(),
        form=form,
        headers=headers,
    )
    body = answer.json() if answer.body else {}
    if not isinstance(body, dict):
        raise UpstreamRejected("upstream_token_error", "not a JSON object")
    if answer.status != 200 or "error" in body:
        error = str(body.get("error", answer.status))[:100]
        raise UpstreamRejected("upstream_token_error", error)
    return body


def _issuer_check(up: Upstream, metadata: OidcMetadata) -> Any:
    if up.kind == "microsoft":
        tenant = up.settings.tenant or ""
        allowed = up.settings.allowed_tenants if tenant in kinds.MICROSOFT_MULTI else [tenant]

        def check(iss: Any, claims: dict[str, Any]) -> bool:
            # Entra v2: iss is https://login.microsoftonline.com/<tid>/v2.0 of the user's
            # tenant: it must name the token's own tid, and that tenant must be allowed.
            tid = claims.get("tid")
            return (
                isinstance(tid, str)
                and tid.lower() in allowed
                and iss == kinds.microsoft_issuer(tid)
            )

        return check
    return lambda iss, _claims: iss == metadata.issuer


def profile(
    up: Upstream, code: str, verifier: str, nonce: str, now: float, *, userinfo: bool = False
) -> UpstreamProfile:
    """Exchange the code and return who the person is upstream; ``UpstreamRejected`` or
    ``UpstreamUnavailable`` otherwise. ``userinfo`` (the console's test login): also
    what the userinfo endpoint says, for display. Every request to the upstream shares
    one deadline, ``up.timeout`` from now."""
    up = replace(up, deadline=time.monotonic() + up.timeout)
    if not up.is_oidc:
        token = _token_request(up, github.TOKEN, code, verifier)
        return github.profile(up, token)
    metadata = _metadata(up)
    token = _token_request(up, metadata.token_endpoint, code, verifier)
    try:
        claims = verify(
            token.get("id_token"),
            keys=lambda kid: up.cache.keys(
                metadata.jwks_uri, allow_private=up.allow_private, timeout=up.time_left(), kid=kid
            ),
            algorithms=metadata.id_token_algs,
            check_issuer=_issuer_check(up, metadata),
            client_id=up.client_id,
            nonce=nonce,
            now=now,
        )
    except IdTokenRejected as exc:
        raise UpstreamRejected(exc.reason) from None
    found = profile_of_claims(up, claims)
    if userinfo:
        found = replace(found, userinfo=_userinfo(up, metadata, token, claims.get("sub")))
    return found


def _userinfo(up: Upstream, metadata: OidcMetadata, token: dict[str, Any], sub: Any) -> Any:
    """The userinfo claims (OIDC Core §5.3), shown only; a note when there are none."""
    access = token.get("access_token")
    if not metadata.userinfo_endpoint or not isinstance(access, str) or not access:
        return {"_note": "no userinfo endpoint, or no access token"}
    try:
        body = http.get_json(
            metadata.userinfo_endpoint,
            allow_private=up.allow_private,
            timeout=up.time_left(),
            headers={"Authorization": f"Bearer {access}"},
        )
    except UpstreamUnavailable as exc:
        return {"_note": f"userinfo not available: {str(exc)[:200]}"}
    if not isinstance(body, dict):
        return {"_note": "userinfo is not a JSON object"}
    # §5.3.2: a `sub` other than the ID token's: the response MUST NOT be used.
    if body.get("sub") != sub:
        return {"_note": "userinfo names another sub than the ID token: not used"}
    return shown_claims(body)


def profile_of_claims(up: Upstream, claims: dict[str, Any]) -> UpstreamProfile:
    """The profile of a validated ID token's claims, by the kind's rules."""
    # Google Workspace: `hd` names the account's domain (absent for consumer accounts);
    # the `hd` request parameter is only a hint to the account chooser.
    hosted = up.settings.hosted_domain if up.kind == "google" else None
    if hosted and claims.get("hd") != hosted:
        raise UpstreamRejected("hosted_domain")
    # Entra's `email` is whatever the tenant's admin typed: verified only with xms_edov.
    verified_claim = "xms_edov" if up.kind == "microsoft" else "email_verified"
    found = from_claims(claims, groups_claim=up.groups_claim, verified_claim=verified_claim)
    if found is None:
        raise UpstreamRejected("id_token_sub")
    return replace(found, auth_time=instant(claims.get("auth_time")))


__all__ = ["UpstreamRejected", "UpstreamUnavailable", "authorization_url", "profile"]
