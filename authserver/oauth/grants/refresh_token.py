"""refresh_token (RFC 6749 §6) with rotation on every use and reuse detection.

Each use claims the presented token in one conditional UPDATE ... RETURNING
(``claim_refresh_token``: unused, the presenting client's family, live, unexpired, user
enabled), which also reads the family and user the new tokens need, in the same
transaction that stores its successor; of concurrent uses -- on any number of processes
-- exactly one wins. A request that fails after its claim (a scope refused) releases it.
When the claim changes nothing, the token is read to tell why: presenting a used token
is a replay (RFC 9700 §4.14.2): the whole family is revoked, the winner's new tokens
included, and the event audited."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from authlib.oauth2.rfc6749 import InvalidGrantError, OAuth2Error, grants

from authserver.audit import AuditEvent
from authserver.clock import to_datetime, to_timestamp
from authserver.hashing import secret_hash
from authserver.oauth import client_auth
from authserver.oauth.context import OAuthContext
from authserver.oauth.grants.issuance import record_issued
from authserver.oauth.scopes import check_client_scope
from authserver.oauth.subject import Subject
from authserver.oauth.token_lookup import RefreshTokenView, find_refresh_token
from authserver.oauth.tokens import new_jti, new_refresh_token, unverified_claims
from authserver.storage.tokens import Successor

MAX_REFRESH_TOKEN_CHARS = 512
# The access-token record stored with the claim expires this long after the token (whose
# `exp` is fixed a moment later, when it is signed): purged a minute late, never early.
RECORD_SLACK = timedelta(seconds=60)


def revoke_for_reuse(ctx: OAuthContext, view: RefreshTokenView) -> None:
    family = view.family
    if ctx.uow.tokens.revoke_family(family.id, "refresh_reuse", ctx.now_dt()):
        ctx.services.metrics.refresh_reuse.inc()
        ctx.audit(
            AuditEvent.REFRESH_REUSE,
            user_id=family.user_id,
            client_id=family.client_id,
            family_id=family.id,
        )


class RefreshTokenGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = client_auth.ANY
    INCLUDE_NEW_REFRESH_TOKEN = True

    claimed: str | None = None  # the hash of the token this request claimed
    # PostgreSQL: what the claim stored with it (one statement), and the refresh token.
    successor: Successor | None = None
    successor_token: str | None = None

    def validate_token_request(self) -> None:
        try:
            super().validate_token_request()
        except OAuth2Error:
            self._release()
            raise

    def create_token_response(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        try:
            return super().create_token_response()  # type: ignore[no-any-return]
        except OAuth2Error:
            self._release()
            raise

    def _release(self) -> None:
        """The request is refused after its claim: the token stays usable (as it would
        have been had the request been refused before it)."""
        if self.claimed is not None:
            tokens = self.server.ctx.uow.tokens
            if self.successor is not None:
                tokens.undo_rotation(self.claimed, self.successor)
            else:
                tokens.release_refresh_token(self.claimed)
            self.claimed = self.successor = self.successor_token = None

    def authenticate_refresh_token(self, refresh_token: str) -> RefreshTokenView | None:
        ctx = self.server.ctx
        if not refresh_token or len(refresh_token) > MAX_REFRESH_TOKEN_CHARS:
            return None
        token_hash = secret_hash(refresh_token)
        client = self.request.client
        tokens = ctx.uow.tokens
        if tokens.rotation_in_one_statement(may_be_refused=bool(self.request.payload.scope)):
            # The new tokens' identifiers chosen now, stored by the claim's statement.
            successor_token = new_refresh_token()
            successor = Successor(
                token_hash=secret_hash(successor_token),
                jti=new_jti(),
                expires_at=to_datetime(time.time() + ctx.services.settings.access_token_ttl)
                + RECORD_SLACK,
            )
            found = tokens.rotate_refresh_token(
                token_hash, client.client_id, ctx.now_dt(), successor
            )
            if found is not None:
                self.successor, self.successor_token = successor, successor_token
        else:
            found = tokens.claim_refresh_token(token_hash, client.client_id, ctx.now_dt())
        if found is not None:
            self.claimed = token_hash
            return RefreshTokenView(found.token, found.family, found.user, ctx.now())
        # Nothing changed; why not? Only a replay needs more than invalid_grant.
        view = find_refresh_token(ctx, refresh_token)
        if view is None or view.family.revoked_at is not None or view.is_expired():
            return None
        # A replay. Only the client the family belongs to can trigger the revocation:
        # anyone else presenting it gets the same invalid_grant, and changes nothing.
        if view.token.used_at is not None and view.check_client(client):
            revoke_for_reuse(ctx, view)
        # Otherwise another client's token, or a disabled user: invalid_grant.
        return None

    def authenticate_user(self, refresh_token: RefreshTokenView) -> Subject:
        family, user = refresh_token.family, refresh_token.user
        if user.disabled_at is not None:
            raise InvalidGrantError()
        return Subject(
            user,
            auth_time=int(to_timestamp(family.auth_time)),
            login_session_id=family.login_session_id,
            amr=tuple(family.amr or ()),
            reserved_jti=self.successor.jti if self.successor else None,
            reserved_refresh_token=self.successor_token,
        )

    def issue_token(self, user: Subject, refresh_token: RefreshTokenView) -> dict[str, Any]:
        # A narrower scope may be asked for this access token; the family (and so the
        # new refresh token) keeps the scope originally granted (RFC 6749 §6).
        # Checked again against the client's registration and the user's role now: either
        # may have changed since the family was granted.
        scope = check_client_scope(
            self.request.client,
            self.request.payload.scope or refresh_token.get_scope(),
            user_roles=user.user.roles,
        )
        return self.generate_token(user=user, scope=scope, include_refresh_token=True)

    def save_token(self, token: dict[str, Any]) -> None:
        ctx = self.server.ctx
        if self.successor is not None:
            # Stored by the claim: what was made must be what was stored (a mismatch
            # raises, and the rotation is undone with the request).
            claims = unverified_claims(token["access_token"])
            if (
                claims["jti"] != self.successor.jti
                or token.get("refresh_token") != self.successor_token
                or to_datetime(claims["exp"]) > self.successor.expires_at
            ):
                raise RuntimeError("the tokens made are not the ones the rotation stored")
            return
        old: RefreshTokenView = self.request.refresh_token
        record_issued(ctx, token, self.request.client, self.request.user, old.family.id)

    def revoke_old_credential(self, refresh_token: RefreshTokenView) -> None:
        """Done by the atomic claim in ``authenticate_refresh_token``."""
