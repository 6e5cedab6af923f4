"""The authorization endpoint's decisions (RFC 6749 §4.1.1, OIDC Core §3.1.2), free of HTTP.

Given a validated request and the browser's login session, ``authorize`` decides one of:
redirect back to the client (a code, or an error the spec says to redirect), send the
user to the login page, show the consent page, or show an error page (unknown client or
unregistered redirect URI: never redirect, RFC 6749 §4.1.2.1)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlencode

from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc6749 import OAuth2Error
from authlib.oidc.core.errors import (
    ConsentRequiredError,
    InteractionRequiredError,
    LoginRequiredError,
)

from authserver.accounts.login_sessions import ActiveSession
from authserver.accounts.verification import needs_verification
from authserver.federation.fresh import FreshAuth
from authserver.mfa import factors, policy
from authserver.oauth.requests import OAuthRequest, OAuthResponse
from authserver.oauth.server import AuthServer
from authserver.oauth.subject import Subject
from authserver.params import parse_decimal
from authserver.storage.client_cache import ClientRecord

# OIDC Core §3.1.2.1 parameters we act on, carried through login and consent.
AUTHORIZATION_PARAMS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "prompt",
    "max_age",
    "login_hint",
    "code_challenge",
    "code_challenge_method",
    "response_mode",
    "ui_locales",
    "claims_locales",
    "display",
    "acr_values",
    "id_token_hint",
)


@dataclass
class Outcome:
    # second_factor: the session must (again) pass its second factor (step-up);
    # enrol: the user must set one up first (MFA required, none yet).
    kind: Literal[
        "redirect", "login", "second_factor", "enrol", "consent", "verify_email", "error_page"
    ]
    response: OAuthResponse | None = None
    # login: where to come back to; consent: what to ask; error_page: what to say.
    next_path: str | None = None
    login_hint: str | None = None
    client_name: str | None = None
    # consent: the client asking (its name and display metadata for the page).
    client: ClientRecord | None = None
    scopes: list[str] = field(default_factory=list)
    params: dict[str, str] = field(default_factory=dict)
    message: str | None = None
    # error_page: the OAuth error code (RFC 6749 §4.1.2.1), for the details line.
    error_code: str | None = None
    # login: the client demands a fresh authentication (``login_demand``); the login
    # page passes it to a federated start, which asks the upstream for one.
    fresh: FreshAuth | None = None


def subject_of(session: ActiveSession | None) -> Subject | None:
    if session is None:
        return None
    return Subject(
        session.user,
        auth_time=session.auth_time,
        login_session_id=session.id,
        amr=tuple(session.amr),
    )


def _error_outcome(server: AuthServer, error: OAuth2Error, state: str | None) -> Outcome:
    if not error.redirect_uri:
        description = error.description or error.error or "invalid request"
        return Outcome("error_page", message=str(description), error_code=error.error)
    params = [("error", error.error)]
    if error.description:
        params.append(("error_description", error.description))
    if state:
        params.append(("state", state))
    # RFC 9207 §2: `iss` in error responses too.
    params.append(("iss", server.ctx.services.settings.issuer))
    location = add_params_to_uri(error.redirect_uri, params)
    return Outcome("redirect", response=OAuthResponse(302, "", [("Location", location)]))


def _prompts(request: OAuthRequest) -> set[str]:
    return set((request.payload.data.get("prompt") or "").split())


def _max_age(request: OAuthRequest) -> int | None:
    raw = request.payload.data.get("max_age")
    return None if raw is None else parse_decimal(raw, max_digits=10)


def _login_too_old(request: OAuthRequest, session: ActiveSession | None, now: float) -> bool:
    """OIDC Core §3.1.2.1 max_age, for the first factor: when the password (or upstream
    login) was last performed, not a later step-up (which moves `auth_time`)."""
    max_age = _max_age(request)
    if session is None or max_age is None:
        return False
    done = policy.first_factor_time(session.login_session.auth_methods)
    # The older of the two: a step-up moves `auth_time` but not the password's time.
    performed = session.auth_time if done is None else min(done, session.auth_time)
    return now - performed > max_age


@dataclass(frozen=True)
class LoginDemand:
    """Why the user must log in before a code; ``fresh`` when it must be a new
    authentication, not one an existing (here or upstream) session vouches for."""

    fresh: FreshAuth | None


def login_demand(
    request: OAuthRequest, session: ActiveSession | None, now: float
) -> LoginDemand | None:
    """The one rule of when /authorize sends the user to log in (None: the session
    serves): no session, `prompt=login` or `select_account`, or a login older than
    `max_age`. OIDC Core §3.1.2.1: `prompt=login` and an exceeded `max_age` (with no
    session here, nothing meets it) MUST make the OP actively re-authenticate the
    End-User -- a password is typed afresh; a federated login asks its upstream."""
    prompts = _prompts(request)
    max_age = _max_age(request)
    too_old = _login_too_old(request, session, now)
    if session is not None and not prompts & {"login", "select_account"} and not too_old:
        return None
    fresh = "login" in prompts or too_old or (max_age is not None and session is None)
    return LoginDemand(FreshAuth(max_age) if fresh else None)


def _second_factor_step(
    server: AuthServer, grant: Any, request: OAuthRequest, session: ActiveSession, now: float
) -> Literal["second_factor", "enrol"] | None:
    """What the session still owes before a code: its second factor when MFA is required
    (settings, role, client), asked for (`acr_values`), or older than `max_age`; set one
    up first when required and the user has none. Only the missing factor is asked for."""
    uow = server.ctx.uow
    required = policy.required_for(server.ctx.services.settings, session.user, grant.client.record)
    has_factor = factors.has_second_factor(uow, session.user.id)
    max_age = _max_age(request)
    wanted = (
        required
        or policy.asks_for_mfa(request.payload.data.get("acr_values"))
        or (max_age is not None and has_factor)
    )
    if not wanted:
        return None
    done = policy.second_factor_time(session.login_session.auth_methods)
    if done is not None and (max_age is None or now - done <= max_age):
        return None
    if has_factor:
        return "second_factor"
    # acr_values is a wish (OIDC Core §3.1.2.1): without a factor the login gets `1fa`.
    return "enrol" if required else None


def _login_next(request: OAuthRequest) -> str:
    """The same request minus `prompt=login` and `max_age`: once the user has logged in,
    asking again would loop (`max_age=0` is always exceeded a moment later); the fresh
    `auth_time` in the ID token shows the login happened (OIDC Core §3.1.2.1)."""
    params = {
        k: v
        for k, v in request.payload.data.items()
        if k in AUTHORIZATION_PARAMS and k != "max_age"
    }
    prompts = _prompts(request) - {"login", "select_account"}
    if prompts:
        params["prompt"] = " ".join(sorted(prompts))
    else:
        params.pop("prompt", None)
    return "/authorize?" + urlencode(params)


def authorize(
    server: AuthServer,
    request: OAuthRequest,
    session: ActiveSession | None,
    *,
    decision: Literal["approve", "deny"] | None = None,
) -> Outcome:
    """Decide what /authorize (or the consent form, with ``decision``) answers."""
    subject = subject_of(session)
    state = request.payload.state
    try:
        grant = server.get_consent_grant(request, end_user=subject)
        redirect_uri = grant.redirect_uri
        data = request.payload.data
        # OIDC Core §6: request objects are not supported -- said to the client.
        if "request" in data or "request_uri" in data:
            code = "request_not_supported" if "request" in data else "request_uri_not_supported"
            raise OAuth2Error(
                error=code,
                description="Request objects are not supported.",
                redirect_uri=redirect_uri,
            )
        if data.get("max_age") is not None and _max_age(request) is None:
            raise OAuth2Error(
                error="invalid_request",
                description="max_age must be a number.",
                redirect_uri=redirect_uri,
            )
        prompts = _prompts(request)
        # The clock the session's auth_time and factor times were written with.
        now = server.ctx.now()
        if decision is None:
            demand = login_demand(request, session, now)
            if demand is not None:
                if "none" in prompts:
                    raise LoginRequiredError(redirect_uri=redirect_uri)
                return Outcome(
                    "login",
                    next_path=_login_next(request),
                    login_hint=data.get("login_hint"),
                    fresh=demand.fresh,
                )
        if session is not None and decision != "deny":
            # Also on the consent form's POST: no code without the factors required.
            step = _second_factor_step(server, grant, request, session, now)
            if step is not None:
                if "none" in prompts:
                    raise InteractionRequiredError(redirect_uri=redirect_uri)
                return Outcome(step, next_path=_login_next(request))
        if decision is None:
            assert subject is not None
            if _unverified(server, grant, subject):
                if "none" in prompts:
                    # OIDC Core §3.1.2.6: the user must act on a page first.
                    raise InteractionRequiredError(redirect_uri=redirect_uri)
                return Outcome("verify_email", next_path=_login_next(request))
            if _needs_consent(server, grant, subject, prompts):
                if "none" in prompts:
                    raise ConsentRequiredError(redirect_uri=redirect_uri)
                return Outcome(
                    "consent",
                    client_name=grant.client.record.name,
                    client=grant.client.record,
                    scopes=grant.request.scope.split(),
                    params={k: v for k, v in data.items() if k in AUTHORIZATION_PARAMS},
                )
        elif subject is None:
            return Outcome("login", next_path=_login_next(request))
        if decision == "approve":
            assert subject is not None
            if _unverified(server, grant, subject):
                return Outcome("verify_email", next_path=_login_next(request))
            server.ctx.uow.consents.grant(
                subject.user.id,
                grant.client.client_id,
                set(grant.request.scope.split()),
                server.ctx.now_dt(),
            )
        granted_to = None if decision == "deny" else subject
        response = server.create_authorization_response(request, grant_user=granted_to, grant=grant)
        return Outcome("redirect", response=response)
    except OAuth2Error as error:
        return _error_outcome(server, error, state)


def _unverified(server: AuthServer, grant: Any, subject: Subject) -> bool:
    settings = server.ctx.services.settings
    return needs_verification(settings, subject.user, grant.client.record.require_verified_email)


def _needs_consent(server: AuthServer, grant: Any, subject: Subject, prompts: set[str]) -> bool:
    client = grant.client
    if "consent" in prompts:
        return True
    if client.record.first_party:
        return False
    granted = server.ctx.uow.consents.granted_scopes(subject.user.id, client.client_id)
    return not set(grant.request.scope.split()) <= granted
