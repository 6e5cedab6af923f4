"""The provider registry through the admin API (and beside it, the service functions the
CLI uses): stored in the database, seen at once by another app instance, the upstream
client secret sealed and never returned, every kind's rules and bad input refused."""

from __future__ import annotations

import pytest

from authserver.federation import providers
from authserver.federation.config import ProviderConfig
from tests.helpers import password_grant

CORP = {
    "id": "corp",
    "kind": "oidc",
    "display_name": "Corp SSO",
    "domains": ["Corp.Example"],
    "settings": {"issuer": "https://idp.corp.example", "client_id": "authserver"},
    "client_secret": "upstream-secret-value",
    "policy": {"jit": True, "jit_domains": ["corp.example"]},
    "mapping": {"group_roles": {"it-admins": ["admin"]}, "roles_managed": True},
}
TENANT = "9188040d-6c67-4c5b-b112-36a304b66dad"


@pytest.fixture
def admin_http(client, factory):
    app = factory.password_client(scope="openid admin")
    admin = factory.user(role="admin")
    token = password_grant(client, app, admin, scope="admin").json()["access_token"]
    client.headers["Authorization"] = f"Bearer {token}"
    yield client
    client.headers.pop("Authorization", None)


def test_provider_lifecycle_secret_sealed_and_never_returned(admin_http, services):
    r = admin_http.post("/admin/providers", json=CORP)
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["has_client_secret"] is True and "client_secret" not in created
    assert "upstream-secret-value" not in r.text
    assert created["domains"] == ["corp.example"]
    assert created["settings"]["scopes"] == ["openid", "email", "profile"]
    assert created["redirect_uri"] == "http://localhost:8000/federation/corp/callback"

    # Stored sealed: not in clear in the row, and it opens only as this provider's secret.
    with services.db.unit_of_work() as uow:
        row = uow.providers.get("corp")
        assert "upstream-secret-value" not in row.client_secret_sealed
        assert providers.client_secret(services.envelope, row) == "upstream-secret-value"
        with pytest.raises(Exception, match="altered or belongs elsewhere"):
            services.envelope.decrypt(row.client_secret_sealed, providers.secret_context("x"))

    listed = admin_http.get("/admin/providers").json()["items"]
    assert [p["id"] for p in listed] == ["corp"]
    r = admin_http.patch("/admin/providers/corp", json={"display_name": "Corp", "enabled": False})
    assert r.status_code == 200 and r.json()["enabled"] is False
    assert r.json()["mapping"]["group_roles"] == {"it-admins": ["admin"]}  # untouched
    r = admin_http.patch("/admin/providers/corp", json={"client_secret": None})
    assert r.json()["has_client_secret"] is False
    assert admin_http.delete("/admin/providers/corp").status_code == 204
    assert admin_http.get("/admin/providers/corp").status_code == 404
    events = [e["event"] for e in admin_http.get("/admin/audit?limit=10").json()["items"]]
    assert events[:4] == [
        "provider.removed",
        "provider.changed",
        "provider.changed",
        "provider.created",
    ]


def test_another_instance_sees_a_change_at_once(admin_http, services):
    """The CLI's service functions on other services (another process's view) and the
    app under test share only the database: no restart, no stale cache."""
    registry = providers.registry(services)
    with services.db.unit_of_work() as uow:
        providers.create(
            uow,
            registry,
            "gh",
            "github",
            ProviderConfig(display_name="GitHub", settings={"client_id": "Iv1.abc"}),
            "gh-secret",
        )
    assert admin_http.get("/admin/providers/gh").json()["settings"]["scopes"] == [
        "read:user",
        "user:email",
    ]
    with services.db.unit_of_work() as uow:
        providers.set_enabled(uow, registry, "gh", False)
    assert admin_http.get("/admin/providers/gh").json()["enabled"] is False


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"settings": {"issuer": "http://idp.corp.example", "client_id": "a"}}, "https"),
        ({"settings": {"issuer": "https://u:p@idp.example", "client_id": "a"}}, "password"),
        ({"settings": {"issuer": "https://idp.example#x", "client_id": "a"}}, "fragment"),
        ({"settings": {"client_id": "a"}}, "issuer is required"),
        ({"settings": {"issuer": "https://idp.example"}}, "client_id is required"),
        (
            {"settings": {"issuer": "https://i.example", "client_id": "a", "scopes": ["email"]}},
            "openid",
        ),
        ({"kind": "google", "settings": {"client_id": "a"}, "client_secret": None}, "secret"),
        (
            {"kind": "google", "settings": {"client_id": "a", "issuer": "https://x.example"}},
            "fixed",
        ),
        ({"kind": "microsoft", "settings": {"client_id": "a", "tenant": "common"}}, "allowed"),
        ({"kind": "microsoft", "settings": {"client_id": "a", "tenant": "contoso"}}, "GUID"),
        ({"kind": "saml2"}, "kind"),
        ({"id": "Corp"}, "id"),
        ({"domains": ["not a domain"]}, "domain"),
        ({"display_name": "Corp\u202eSSO"}, "display_name"),
        ({"icon_url": "javascript:alert(1)"}, "icon_url"),
        ({"icon_url": "https://[oops/x.png"}, "icon_url"),
        ({"settings": {"issuer": "https://[oops", "client_id": "a"}}, "issuer"),
        ({"mapping": {"group_roles": {"g": ["no-such-role"]}}}, "No such role"),
        ({"mapping": {"group_roles": {"g": ["Admin!"]}}}, "role name"),
        ({"policy": {"max_session_seconds": 10}}, "max_session_seconds"),
        ({"client_secret": ""}, "client_secret"),
    ],
)
def test_bad_provider_input_is_refused_and_nothing_stored(admin_http, body, problem):
    r = admin_http.post("/admin/providers", json={**CORP, **body})
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "invalid_request" and problem in r.json()["error_description"]
    assert admin_http.get("/admin/providers").json()["items"] == []


def test_ids_and_domains_are_unique(admin_http):
    assert admin_http.post("/admin/providers", json=CORP).status_code == 201
    again = admin_http.post("/admin/providers", json=CORP)
    assert again.status_code == 409
    other = {**CORP, "id": "corp2", "domains": ["corp.example"]}
    r = admin_http.post("/admin/providers", json=other)
    assert r.status_code == 409 and "bound to provider corp" in r.json()["error_description"]
    assert admin_http.post("/admin/providers", json={**other, "domains": []}).status_code == 201
    r = admin_http.patch("/admin/providers/corp2", json={"domains": ["corp.example"]})
    assert r.status_code == 409
    r = admin_http.patch("/admin/providers/corp2", json={"settings": {"client_id": "x"}})
    assert r.status_code == 400 and "issuer is required" in r.text


def test_microsoft_tenants_normalised_and_private_networks_need_the_setting(
    admin_http, make_settings
):
    from authserver.errors import InvalidInput
    from authserver.services import build_services, close_services

    r = admin_http.post(
        "/admin/providers",
        json={
            "id": "entra",
            "kind": "microsoft",
            "display_name": "Microsoft",
            "settings": {
                "client_id": "a",
                "tenant": "Organizations",
                "allowed_tenants": [TENANT.upper()],
            },
            "client_secret": "x",
        },
    )
    assert r.status_code == 201, r.text
    assert r.json()["settings"]["tenant"] == "organizations"
    assert r.json()["settings"]["allowed_tenants"] == [TENANT]
    loopback = {**CORP, "id": "local", "domains": []}
    loopback["settings"] = {"issuer": "http://127.0.0.1:9000", "client_id": "a"}
    assert admin_http.post("/admin/providers", json=loopback).status_code == 400
    test_rig = build_services(make_settings(federation_allow_private_networks=True))
    try:
        config = ProviderConfig(display_name="Local", settings=loopback["settings"])
        with test_rig.db.unit_of_work() as uow:
            registry = providers.registry(test_rig)
            assert providers.create(uow, registry, "local", "oidc", config).enabled
            remote = ProviderConfig(
                display_name="Remote",
                settings={"issuer": "http://idp.example", "client_id": "a"},
            )
            with pytest.raises(InvalidInput, match="https"):
                providers.create(uow, registry, "remote", "oidc", remote)
    finally:
        close_services(test_rig)
