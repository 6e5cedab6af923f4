"""Builds clients and users through the same code the CLI and admin API use."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from authserver.accounts.users import create_user
from authserver.oauth.client_registry import ClientSpec, register_client
from authserver.services import Services

PASSWORD = "correct horse battery staple"


@dataclass
class RegisteredClient:
    client_id: str
    client_secret: str | None
    redirect_uris: list[str]

    @property
    def basic_auth(self) -> tuple[str, str]:
        assert self.client_secret is not None
        return (self.client_id, self.client_secret)


@dataclass
class CreatedUser:
    id: str
    email: str
    password: str
    roles: list[str]

    @property
    def role(self) -> str:
        return "admin" if "admin" in self.roles else "user"


class Factory:
    def __init__(self, services: Services) -> None:
        self.services = services
        self._n = 0

    def _next(self) -> int:
        self._n += 1
        return self._n

    def client(
        self,
        *,
        grant_types: list[str] | None = None,
        scope: str = "api:read api:write",
        public: bool = False,
        auth_method: str = "client_secret_basic",
        **spec: Any,
    ) -> RegisteredClient:
        spec.setdefault("name", f"client {self._next()}")
        with self.services.db.unit_of_work() as uow:
            record, secret = register_client(
                uow,
                self.services.clock,
                ClientSpec(
                    grant_types=grant_types or ["client_credentials"],
                    scope=scope,
                    token_endpoint_auth_method="none" if public else auth_method,
                    **spec,
                ),
            )
            return RegisteredClient(record.client_id, secret, list(record.redirect_uris))

    def resource_server(self, **spec: Any) -> RegisteredClient:
        """An API registered as a client that may introspect any access token."""
        return self.client(allow_introspection=True, **spec)

    def password_client(
        self, scope: str = "openid email api:read", **spec: Any
    ) -> RegisteredClient:
        return self.client(grant_types=["password", "refresh_token"], scope=scope, **spec)

    def user(
        self,
        email: str | None = None,
        password: str = PASSWORD,
        role: str = "user",
        roles: list[str] | None = None,
    ) -> CreatedUser:
        email = email or f"user{self._next()}@example.com"
        with self.services.db.unit_of_work() as uow:
            user = create_user(
                uow,
                self.services.passwords,
                self.services.clock,
                email=email,
                password=password,
                roles=[role, *(roles or [])],
            )
            return CreatedUser(user.id, user.email, password, list(user.roles))
