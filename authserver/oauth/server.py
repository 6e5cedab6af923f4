"""Our Authlib ``AuthorizationServer``: grants, endpoints and client authentication,
bound to one request's ``OAuthContext`` (its unit of work) while it serves it.

Building one costs ~100-200 us of CPU (registries of grants, endpoints, hooks: measured,
bench/README.md), a sixth of a client_credentials request, so the token, revocation and
introspection endpoints reuse the servers of each thread (``ServerFactory.bound``): one
serves one request at a time, bound for the duration of one call. Authlib keeps request
state on the grant and request objects it creates per request, never on the server.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from authlib.oauth2 import rfc9207
from authlib.oauth2.rfc6749 import AuthorizationServer, InvalidClientError, OAuth2Request

from authserver.oauth import client_auth
from authserver.oauth.client import OAuthClient
from authserver.oauth.client_registry import CLIENT_ID
from authserver.oauth.context import OAuthContext
from authserver.oauth.grants.authorization_code import AuthorizationCodeGrant
from authserver.oauth.grants.client_credentials import ClientCredentialsGrant
from authserver.oauth.grants.password import PasswordGrant
from authserver.oauth.grants.refresh_token import RefreshTokenGrant
from authserver.oauth.introspection import IntrospectionEndpoint
from authserver.oauth.oidc import IdTokenForCode, IdTokenForRefresh
from authserver.oauth.pkce import S256CodeChallenge
from authserver.oauth.private_key_jwt import PrivateKeyJwt
from authserver.oauth.requests import OAuthResponse, RequestMeta
from authserver.oauth.revocation import RevocationEndpoint
from authserver.oauth.tokens import AccessTokenGenerator
from authserver.services import Services
from authserver.storage.db import UnitOfWork


class AuthServer(AuthorizationServer):
    # The request being served (set by ``ServerFactory``; the extensions read it here).
    ctx: OAuthContext

    def __init__(self, services: Services, generator: AccessTokenGenerator) -> None:
        super().__init__()
        self.services = services
        self.register_token_generator("default", generator)
        for method, func in client_auth.METHODS.items():
            self.register_client_auth_method(method, func)
        self.register_client_auth_method("private_key_jwt", PrivateKeyJwt(self))
        self.register_grant(ClientCredentialsGrant)
        self.register_grant(PasswordGrant)
        self.register_grant(RefreshTokenGrant, [IdTokenForRefresh(self)])
        self.register_grant(
            AuthorizationCodeGrant, [S256CodeChallenge(required=True), IdTokenForCode(self)]
        )
        self.register_extension(IssuerParameter(services.settings.issuer))
        self.register_endpoint(RevocationEndpoint)
        self.register_endpoint(IntrospectionEndpoint)

    def query_client(self, client_id: str) -> OAuthClient | None:
        # Every lookup by client id (form, Basic header, assertion `sub`) passes here: an
        # id that no client can have is unknown without asking the database.
        if not isinstance(client_id, str) or not CLIENT_ID.fullmatch(client_id):
            return None
        uow = self.ctx.uow
        record = self.ctx.services.clients.get(client_id, lambda: uow.clients.get(client_id))
        return OAuthClient(record) if record else None

    def authenticate_client(
        self, request: OAuth2Request, methods: list[str], endpoint: str = "token"
    ) -> OAuthClient:
        client_auth.reject_multiple_methods(request)
        try:
            return super().authenticate_client(request, methods, endpoint)
        except InvalidClientError:
            # RFC 6749 §5.2: 401 with WWW-Authenticate. One answer for an unknown client,
            # a wrong secret and a method the client is not registered for.
            raise InvalidClientError(status_code=401, description=client_auth.FAILED) from None

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        """Each grant stores what it issued itself (see ``oauth.grants``)."""

    def create_oauth2_request(self, request: OAuth2Request) -> OAuth2Request:
        return request

    def create_json_request(self, request: Any) -> Any:
        return request

    def handle_response(
        self, status: int, body: Any, headers: list[tuple[str, str]]
    ) -> OAuthResponse:
        return OAuthResponse(status, body, list(headers))

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        """Authlib's signals; the events we care about are audited where they happen."""


class IssuerParameter(rfc9207.IssuerParameter):
    """RFC 9207: `iss` in every authorization response (errors get it in
    ``oauth.authorization``, as Authlib raises those before this hook runs)."""

    def __init__(self, issuer: str) -> None:
        self.issuer = issuer

    def get_issuer(self) -> str:
        return self.issuer


class ServerFactory:
    """Servers around what all requests share: the services and the token generator."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.generator = AccessTokenGenerator(services.settings, services.keys)
        self._idle = threading.local()  # each thread's idle servers

    def __call__(self, uow: UnitOfWork, meta: RequestMeta) -> AuthServer:
        """A server of the caller's own, bound to one request for as long as it is kept."""
        server = AuthServer(self.services, self.generator)
        server.ctx = OAuthContext(uow, self.services, meta)
        return server

    @contextmanager
    def bound(self, uow: UnitOfWork, meta: RequestMeta) -> Iterator[AuthServer]:
        """One of this thread's servers, bound to one request for the block. Blocks on
        the event loop's thread may be suspended while their statements are awaited
        (``storage.pg_loop``), and a block may open another: each holds a server of its
        own, taken from the thread's idle ones (as many as blocks were ever open at once)."""
        idle: list[AuthServer] | None = getattr(self._idle, "servers", None)
        if idle is None:
            idle = self._idle.servers = []
        server = idle.pop() if idle else AuthServer(self.services, self.generator)
        server.ctx = OAuthContext(uow, self.services, meta)
        try:
            yield server
        finally:
            del server.ctx  # the unit of work is closed after the block: keep nothing
            idle.append(server)
