"""Resource owner password credentials (RFC 6749 §4.3), for first-party clients only.

Only clients registered with the `password` grant type may use it (RFC 9700 §2.4 says
SHOULD NOT otherwise). A wrong password and an unknown user get the same `invalid_grant`
(RFC 6749 §5.2) after the same amount of hashing work."""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc6749 import (
    InvalidGrantError,
    InvalidRequestError,
    OAuth2Error,
    UnauthorizedClientError,
    grants,
)

from authserver.accounts import auth_methods, login
from authserver.accounts.sign_in import with_second_factor
from authserver.accounts.verification import needs_verification
from authserver.mfa import factors, second_factor
from authserver.oauth import client_auth
from authserver.oauth.grants.issuance import record_issued, start_family
from authserver.oauth.scopes import check_client_scope
from authserver.oauth.subject import Subject
from authserver.storage.models import User


class SlowDownError(OAuth2Error):
    """Too many password attempts: 429 + Retry-After in the RFC 6749 §5.2 JSON shape.
    An OAuth2Error, so Authlib answers it and the unit of work (with its audit record of
    the throttled attempt) is committed."""

    error = "slow_down"
    status_code = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__("Too many attempts; try again later.")
        self.retry_after = retry_after

    def get_headers(self) -> list[tuple[str, str]]:
        return [*super().get_headers(), ("Retry-After", str(self.retry_after))]


class PasswordGrant(grants.ResourceOwnerPasswordCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = client_auth.ANY

    def validate_token_request(self) -> None:
        client = self.authenticate_token_endpoint_client()
        if not client.check_grant_type(self.GRANT_TYPE):
            raise UnauthorizedClientError("The client may not use this grant type.")
        form = self.request.form
        username, password = form.get("username"), form.get("password")
        if not username or password is None:
            raise InvalidRequestError("The username and password parameters are required.")
        self.request.client = client
        user = self.authenticate_user(username, password)
        settings = self.server.ctx.services.settings
        if needs_verification(settings, user, client.record.require_verified_email):
            raise InvalidGrantError("The user has not verified their e-mail address yet.")
        self.request.scope = check_client_scope(
            client, self.request.payload.scope, user_roles=user.roles
        )
        methods = [auth_methods.PASSWORD]
        if factors.has_second_factor(self.server.ctx.uow, user.id):
            methods = self._second_factor(user, methods)
        now = int(self.server.ctx.now())
        self.request.user = Subject(user, auth_time=now, amr=tuple(sorted(methods)))

    def _second_factor(self, user: User, methods: list[str]) -> list[str]:
        """A user with an authenticator app sends its current code as ``otp`` (as
        Keycloak's direct grant takes ``totp``): the password alone would bypass the
        second factor. Throttled and audited like the sign-in page."""
        ctx = self.server.ctx
        code = self.request.form.get("otp")
        if not code:
            raise InvalidGrantError(
                "This account uses two-step verification: send the authenticator app's "
                "current code as otp, or sign in through the browser."
            )
        checked = second_factor.check(
            ctx.uow,
            ctx.services,
            user.id,
            "totp",
            code,
            ip=ctx.meta.ip,
            user_agent=ctx.meta.user_agent,
            purpose="password_grant",
        )
        if checked.retry_after is not None:
            ctx.services.metrics.throttled.inc()
            raise SlowDownError(checked.retry_after)
        if not checked.ok:
            raise InvalidGrantError("The otp code is not correct, or was already used.")
        return with_second_factor(methods, checked.methods)

    def authenticate_user(self, username: str, password: str) -> User:
        ctx = self.server.ctx
        result = login.authenticate(
            ctx.uow,
            ctx.services,
            username,
            password,
            ip=ctx.meta.ip,
            user_agent=ctx.meta.user_agent,
            client_id=self.request.client.client_id,
            purpose="password_grant",
        )
        if result.retry_after is not None:
            ctx.services.metrics.throttled.inc()
            raise SlowDownError(result.retry_after)
        if result.user is None:
            raise InvalidGrantError("Invalid username or password.")
        return result.user

    def create_token_response(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        client, subject = self.request.client, self.request.user
        token = self.generate_token(
            user=subject,
            scope=self.request.scope,
            include_refresh_token=client.check_grant_type("refresh_token"),
        )
        self.save_token(token)
        return 200, token, self.TOKEN_RESPONSE_HEADER

    def save_token(self, token: dict[str, Any]) -> None:
        ctx = self.server.ctx
        family_id = start_family(ctx, self.request.client, self.request.user, token["scope"])
        record_issued(ctx, token, self.request.client, self.request.user, family_id)
