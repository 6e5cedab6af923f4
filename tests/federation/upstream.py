"""A second authserver process as the upstream OpenID Provider, and helpers driving a
federated login over HTTP through both servers (the real pages, no shortcuts)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2 as httpx

from authserver.accounts import roles
from authserver.federation import providers
from authserver.federation.config import ProviderConfig
from authserver.services import Services, build_services, close_services
from authserver.settings import build_settings
from tests.conftest import FAST_HASHING
from tests.factories import CreatedUser, Factory, RegisteredClient
from tests.oidc import hidden_fields
from tests.servers import free_port, running_server

OUR_ISSUER = "http://localhost:8000"


@dataclass
class Upstream:
    url: str
    services: Services
    factory: Factory
    client: RegisteredClient
    made: int = 0

    def email(self, name: str, domain: str = "corp.example") -> str:
        """A fresh address (the upstream lives for the module, across backends)."""
        self.made += 1
        return f"{name}{self.made}@{domain}"

    def user(self, email: str, roles_held: list[str] | None = None, verified: bool = False):
        made = self.factory.user(email=email, roles=roles_held)
        if verified:
            with self.services.db.unit_of_work() as uow:
                uow.users.get(made.id).email_verified = True
        return made

    def set_email(self, user: CreatedUser, email: str) -> None:
        with self.services.db.unit_of_work() as uow:
            row = uow.users.get(user.id)
            row.email, row.email_key = email, email.casefold()
        user.email = email


@contextmanager
def running_upstream(
    workdir: Path, key_template: Path, callbacks: list[str], host: str = "127.0.0.1"
) -> Iterator[Upstream]:
    """``host``: the issuer's host name (a browser keeps cookies per host, not port: a
    second server on the same host would share them)."""
    keys = workdir / "keys"
    shutil.copytree(key_template, keys)
    port = free_port()
    env = {
        "AUTHSERVER_ISSUER": f"http://{host}:{port}",
        "AUTHSERVER_DATA_DIR": str(workdir),
        "AUTHSERVER_KEYS_DIR": str(keys),
        **{f"AUTHSERVER_{k.upper()}": str(v) for k, v in FAST_HASHING.items()},
    }
    with running_server(env, workdir, port=port):
        issuer = env["AUTHSERVER_ISSUER"]
        settings = build_settings(data_dir=workdir, keys_dir=keys, issuer=issuer, **FAST_HASHING)
        services = build_services(settings)
        try:
            factory = Factory(services)
            with services.db.unit_of_work() as uow:
                roles.define(uow, services.clock, "eng")
                roles.define(uow, services.clock, "ops")
            client = factory.client(
                grant_types=["authorization_code", "refresh_token"],
                scope="openid email profile roles",
                redirect_uris=callbacks,
                first_party=True,
            )
            yield Upstream(issuer, services, factory, client)
        finally:
            close_services(services)


def login_buttons(html: str) -> list[str]:
    return re.findall(r'action="/federation/([a-z0-9-]+)/start"', html)


def start_federated(ours: Any, provider_id: str, next_path: str) -> str:
    """Click "Continue with ..." on our login page; the upstream URL we are sent to."""
    page = ours.get("/login", params={"next": next_path})
    assert provider_id in login_buttons(page.text), page.text
    fields = hidden_fields(page.text)
    r = ours.post(
        f"/federation/{provider_id}/start",
        data={"csrf_token": fields["csrf_token"], "next": next_path},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return r.headers["location"]


def upstream_login(upstream: Upstream, authorize_url: str, user: CreatedUser) -> str:
    """Sign in at the upstream in its own browser session; the callback URL (ours) the
    upstream redirects to."""
    with httpx.Client(base_url=upstream.url, timeout=30) as browser:
        r = browser.get(authorize_url, follow_redirects=False)
        if r.status_code == 303 and r.headers["location"].startswith("/login"):
            page = browser.get(r.headers["location"])
            fields = hidden_fields(page.text)
            r = browser.post(
                "/login",
                data={**fields, "email": user.email, "password": user.password},
                follow_redirects=False,
            )
            assert r.status_code == 303, r.text
            r = browser.get(r.headers["location"], follow_redirects=False)
        assert r.status_code == 302, r.text
        location = r.headers["location"]
    assert location.startswith(OUR_ISSUER), location
    return location.removeprefix(OUR_ISSUER)


def add_corp_provider(
    services: Services, upstream: Upstream, provider_id: str = "up", **policy: Any
) -> str:
    """Our provider ``provider_id`` for ``upstream``: JIT for corp.example (its home realm
    when it is ``up``), the upstream's `roles` claim as groups, `eng` -> developer."""
    with services.db.unit_of_work() as uow:
        if uow.roles.get("developer") is None:
            roles.define(uow, services.clock, "developer")
        providers.create(
            uow,
            providers.registry(services),
            provider_id,
            "oidc",
            ProviderConfig(
                display_name="Corp SSO",
                domains=["corp.example"] if provider_id == "up" else [],
                settings={
                    "issuer": upstream.url,
                    "client_id": upstream.client.client_id,
                    "scopes": ["openid", "email", "profile", "roles"],
                },
                policy={"jit": True, "jit_domains": ["corp.example"], **policy},
                mapping={
                    "groups_claim": "roles",
                    "group_roles": {"eng": ["developer"]},
                    "roles_managed": True,
                },
            ),
            upstream.client.client_secret,
        )
    return provider_id
