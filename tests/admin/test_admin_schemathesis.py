"""Schemathesis against the admin API's own OpenAPI description, on a real server process:
generated requests (valid and not) never get a 500, every valid request is accepted, and
every answer conforms to the description (status codes, content types, response schemas).

Left out: the check that every schema-violating request is refused. The API ignores query
parameters it does not know (as most HTTP APIs do), which that check counts as a failure;
request *bodies* are strict (unknown fields and wrong types are refused). And for bodies,
the check that every schema-valid request is accepted: client metadata has rules across
fields (a public client cannot use client_credentials; http redirect URIs only on
loopback) that a JSON Schema does not express, and those answer a documented 400."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import negative_data_rejection, positive_data_acceptance

from authserver.admin.openapi import build
from authserver.services import build_services, close_services
from authserver.settings import build_settings
from tests.conftest import FAST_HASHING
from tests.factories import Factory
from tests.servers import free_port, running_server

pytestmark = pytest.mark.slow

schema = schemathesis.openapi.from_dict(build())


@pytest.fixture(scope="module")
def admin_server(tmp_path_factory, key_template):
    import shutil

    tmp = tmp_path_factory.mktemp("schemathesis")
    keys = tmp / "keys"
    shutil.copytree(key_template, keys)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        "AUTHSERVER_DATABASE_URL": f"sqlite:///{tmp / 'a.db'}",
        "AUTHSERVER_KEYS_DIR": str(keys),
        "AUTHSERVER_ISSUER": url,
        "AUTHSERVER_CLIENT_CACHE_TTL": "0",
        **{f"AUTHSERVER_{k.upper()}": str(v) for k, v in FAST_HASHING.items()},
    }
    with running_server(env, tmp, port=port) as server:
        services = build_services(
            build_settings(
                issuer=url,
                database_url=env["AUTHSERVER_DATABASE_URL"],
                keys_dir=keys,
                **FAST_HASHING,
            )
        )
        factory = Factory(services)
        app = factory.password_client(scope="openid admin")
        admin = factory.user(role="admin")
        factory.client()
        with server.client() as http:
            token = http.post(
                "/token",
                auth=app.basic_auth,
                data={
                    "grant_type": "password",
                    "username": admin.email,
                    "password": admin.password,
                    "scope": "admin",
                },
            ).json()["access_token"]
        yield url, token
        close_services(services)


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_admin_api_conforms(case, admin_server):
    url, token = admin_server
    excluded = [negative_data_rejection]
    if case.operation.method.upper() in ("POST", "PATCH", "PUT"):
        excluded.append(positive_data_acceptance)
    case.call_and_validate(
        base_url=url, headers={"Authorization": f"Bearer {token}"}, excluded_checks=excluded
    )
