"""authorization_code (RFC 6749 §4.1) with PKCE and OpenID Connect.

Codes are stored only as hashes, live at most ``auth_code_ttl`` (≤ 60 s) and are bound to
the client, the redirect URI, the PKCE challenge, the nonce and the login session. The
exchange consumes the code with one conditional UPDATE; presenting it again is refused
and revokes everything the first exchange issued (RFC 6749 §4.1.2).

Refresh tokens come only with `offline_access` (OIDC Core §11), or when the client is
registered to get them anyway, and only to clients holding the refresh_token grant."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from authlib.oauth2.rfc6749 import (
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
    grants,
)
from authlib.oauth2.rfc6749.hooks import hooked

from authserver.audit import AuditEvent
from authserver.clock import to_datetime, to_timestamp
from authserver.hashing import secret_hash
from authserver.mfa import policy
from authserver.oauth import client_auth
from authserver.oauth.client import OAuthClient
from authserver.oauth.scopes import OFFLINE_ACCESS, OPENID, UNKNOWN_USER, check_client_scope
from authserver.oauth.subject import Subject
from authserver.oauth.tokens import unverified_claims
from authserver.storage.codes import CodeRow, Issued
from authserver.storage.models import AuthorizationCode, User

MAX_CODE_CHARS = 512


@dataclass
class CodeView:
    """A stored code as Authlib and its PKCE / OIDC extensions read it."""

    record: CodeRow
    user: User  # read with the code
    # The upstream provider's family lifetime cap, read with the code (None: no cap).
    lifetime_cap: int | None = None

    @property
    def code_challenge(self) -> str | None:
        return self.record.code_challenge

    @property
    def code_challenge_method(self) -> str | None:
        return self.record.code_challenge_method

    def get_redirect_uri(self) -> str | None:
        return self.record.redirect_uri

    def get_scope(self) -> str:
        return self.record.scope

    def get_nonce(self) -> str | None:
        return self.record.nonce

    def get_auth_time(self) -> int:
        return int(to_timestamp(self.record.auth_time))

    def get_acr(self) -> str | None:
        return policy.acr_of(self.record.amr) if self.record.amr else None

    def get_amr(self) -> list[str] | None:
        return list(self.record.amr) if self.record.amr else None


def wants_refresh_token(client: OAuthClient, scope: str) -> bool:
    if not client.check_grant_type("refresh_token"):
        return False
    return OFFLINE_ACCESS in scope.split() or client.record.refresh_without_offline_access


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = client_auth.ANY

    # --- /authorize ------------------------------------------------------------------

    @staticmethod
    def validate_authorization_redirect_uri(request: Any, client: OAuthClient) -> str:
        """Authlib's check, with a fixed message: Authlib quotes the URI in the error, and
        an error description may not carry characters such as '"' (RFC 6749 §4.1.2.1), so a
        crafted URI would end in a 500 instead of the error page. An OpenID Connect
        request must name its redirect_uri."""
        redirect_uri = request.payload.redirect_uri
        if redirect_uri:
            if not client.check_redirect_uri(redirect_uri):
                raise InvalidRequestError("The redirect_uri is not registered for this client.")
            return redirect_uri
        if OPENID in (request.payload.scope or "").split():
            # OIDC Core §3.1.2.1: redirect_uri is REQUIRED in an OpenID Connect request;
            # RFC 6749 §3.1.2.3's one-registered-URI default is for plain OAuth only.
            raise InvalidRequestError("Missing 'redirect_uri' in request.")
        default = client.get_default_redirect_uri()
        if not default:
            raise InvalidRequestError("Missing 'redirect_uri' in request.")
        return default

    def validate_requested_scope(self) -> None:
        """Scopes the client is registered for and the user's role allows; an empty
        request means all of the client's user scopes (RFC 6749 §3.3)."""
        subject: Subject | None = self.request.user
        roles = subject.user.roles if subject else UNKNOWN_USER
        asked = self.request.payload.scope
        granted = check_client_scope(self.request.client, asked, user_roles=roles)
        if not asked:
            # Only a request that names `openid` is an OpenID Connect request (OIDC Core
            # §3.1.2.1); Authlib decided from the request as sent, so a default `openid`
            # would get an ID token past the OIDC checks (nonce replay, prompt).
            granted = " ".join(s for s in granted.split() if s != OPENID)
            if not granted:
                raise InvalidScopeError("The request must name its scope, e.g. openid.")
        self.request.payload.data["scope"] = granted

    def save_authorization_code(self, code: str, request: Any) -> None:
        ctx = self.server.ctx
        subject: Subject = request.user
        data = request.payload.data
        now = ctx.now_dt()
        ctx.uow.codes.add(
            AuthorizationCode(
                code_hash=secret_hash(code),
                client_id=request.client.client_id,
                user_id=subject.user.id,
                login_session_id=subject.login_session_id,
                redirect_uri=request.payload.redirect_uri,
                scope=request.scope,
                nonce=data.get("nonce"),
                code_challenge=data.get("code_challenge"),
                code_challenge_method=data.get("code_challenge_method"),
                auth_time=to_datetime(subject.auth_time),
                amr=list(subject.amr) or None,
                created_at=now,
                expires_at=now + timedelta(seconds=ctx.services.settings.auth_code_ttl),
            )
        )

    # --- /token --------------------------------------------------------------------------

    def query_authorization_code(self, code: str, client: OAuthClient) -> CodeView | None:
        ctx = self.server.ctx
        if not code or len(code) > MAX_CODE_CHARS:
            return None
        found = ctx.uow.codes.find_for_exchange(secret_hash(code))
        if found is None or found.code.client_id != client.client_id:
            return None
        record = found.code
        if record.used_at is not None:
            self._revoke_first_use(record, record.family_id)
            return None
        if record.expires_at <= ctx.now_dt():
            return None
        return CodeView(record, found.user, found.lifetime_cap)

    def _revoke_first_use(self, record: CodeRow, family_id: str | None) -> None:
        """RFC 6749 §4.1.2: a code used twice is denied, and what its first use issued is
        revoked (the family: refresh tokens, and access tokens at introspection)."""
        ctx = self.server.ctx
        if family_id and ctx.uow.tokens.revoke_family(family_id, "code_reuse", ctx.now_dt()):
            ctx.audit(
                AuditEvent.CODE_REUSE,
                user_id=record.user_id,
                client_id=record.client_id,
                family_id=family_id,
            )

    def authenticate_user(self, authorization_code: CodeView) -> Subject:
        record, user = authorization_code.record, authorization_code.user
        if user.disabled_at is not None:
            raise InvalidGrantError()
        return Subject(
            user,
            auth_time=authorization_code.get_auth_time(),
            login_session_id=record.login_session_id,
            amr=tuple(record.amr or ()),
        )

    @hooked
    def create_token_response(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        client: OAuthClient = self.request.client
        code: CodeView = self.request.authorization_code
        self.request.user = self.authenticate_user(code)
        scope = code.get_scope()
        # As the refresh grant does: the client's registration or the user's roles may
        # have changed since the code was issued (up to auth_code_ttl ago). A scope no
        # longer allowed makes the grant invalid (RFC 6749 §5.2), before anything is
        # claimed: nothing to undo.
        try:
            check_client_scope(client, scope, user_roles=self.request.user.user.roles)
        except InvalidScopeError:
            raise InvalidGrantError("The code's scope is no longer allowed.") from None
        token = self.generate_token(
            user=self.request.user,
            scope=scope,
            include_refresh_token=wants_refresh_token(client, scope),
        )
        self.save_token(token)
        return 200, token, self.TOKEN_RESPONSE_HEADER

    def save_token(self, token: dict[str, Any]) -> None:
        ctx = self.server.ctx
        code: CodeView = self.request.authorization_code
        subject: Subject = self.request.user
        claims = unverified_claims(token["access_token"])
        refresh_token = token.get("refresh_token")
        now = ctx.now_dt()
        issued = Issued(
            family_id=str(uuid.uuid4()),
            client_id=self.request.client.client_id,
            user_id=subject.user.id,
            login_session_id=subject.login_session_id,
            scope=code.get_scope(),
            auth_time=code.record.auth_time,
            amr=code.record.amr,
            created_at=now,
            expires_at=now + timedelta(seconds=_family_lifetime(ctx, code)),
            jti=claims["jti"],
            access_expires_at=to_datetime(claims["exp"]),
            refresh_token_hash=secret_hash(refresh_token) if refresh_token else None,
        )
        # The claim and what it issued are stored together, the claim deciding: a
        # concurrent exchange of the same code loses here, with nothing stored for it.
        if not ctx.uow.codes.exchange(code.record.code_hash, issued):
            # Lost a race with a concurrent exchange, which has committed by now (its
            # UPDATE held the row): a replay like any other.
            self._revoke_first_use(code.record, ctx.uow.codes.family_of(code.record.code_hash))
            raise InvalidGrantError()

    def delete_authorization_code(self, authorization_code: CodeView) -> None:
        """Codes are marked used (in ``save_token``), never deleted: a replay must be
        recognised as one."""


def _family_lifetime(ctx: Any, code: CodeView) -> int:
    """The refresh family's lifetime: the server's, or less when the login came through
    an upstream provider that caps it (its `max_session_seconds`, read with the code)."""
    ttl = int(ctx.services.settings.refresh_token_ttl)
    return ttl if code.lifetime_cap is None else min(ttl, code.lifetime_cap)
