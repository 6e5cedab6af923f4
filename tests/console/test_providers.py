"""Identity providers in the console: register a kind with its settings, policy and
group -> role rules; edit; the client secret is stored sealed, never shown, kept unless
replaced; bad input refused with the form kept; delete after a confirmation."""

from __future__ import annotations

import html

import pytest

from authserver.federation import providers as registry
from tests.console.helpers import csrf, post, sign_in


@pytest.fixture
def admin_http(client, factory, services):
    admin = factory.user(role="admin")
    sign_in(client, services, admin.id)
    return client


GOOGLE = {
    "id": "corp-google",
    "kind": "google",
    "display_name": "Corp <Google>",
    "enabled": "on",
    "domains": "corp.example",
    "client_secret": "upstream-secret-123",
    "settings.client_id": "corp-client",
    "settings.hosted_domain": "corp.example",
    "policy.jit": "on",
    "policy.jit_domains": "corp.example",
    "mapping.group_roles": "it-admins => admin\ncn=eng,ou=groups => user",
}


def _stored(services, provider_id):
    with services.db.unit_of_work() as uow:
        p = uow.providers.get(provider_id)
        return None if p is None else (registry.config_of(p), p.client_secret_sealed)


def test_register_edit_and_delete_a_provider(admin_http, services):
    r = post(admin_http, "/console/providers/new?kind=google", "/console/providers/new", **GOOGLE)
    assert r.status_code == 303, r.text
    page = admin_http.get(r.headers["location"]).text
    assert "Corp &lt;Google&gt;" in page and "upstream-secret-123" not in page
    assert "http://localhost:8000/federation/corp-google/callback" in page
    config, sealed = _stored(services, "corp-google")
    assert config.policy.jit and config.settings.hosted_domain == "corp.example"
    assert config.mapping.group_roles == {"it-admins": ["admin"], "cn=eng,ou=groups": ["user"]}
    assert sealed and "upstream-secret-123" not in sealed
    # Edit without a new secret: it stays; the rules are replaced as shown.
    edit = {k: v for k, v in GOOGLE.items() if k not in ("id", "client_secret", "kind")}
    edit["mapping.group_roles"] = "it-admins => admin"
    edit.pop("policy.jit")
    r = post(admin_http, "/console/providers/corp-google", "/console/providers/corp-google", **edit)
    assert r.status_code == 303
    config, sealed_after = _stored(services, "corp-google")
    assert not config.policy.jit and sealed_after == sealed
    assert config.mapping.group_roles == {"it-admins": ["admin"]}
    confirm = admin_http.get("/console/providers/corp-google/delete")
    assert "cannot be undone" in confirm.text and _stored(services, "corp-google")
    r = admin_http.post(
        "/console/providers/corp-google/delete",
        data={"csrf_token": csrf(confirm.text)},
        follow_redirects=False,
    )
    assert r.status_code == 303 and _stored(services, "corp-google") is None
    with services.db.unit_of_work() as uow:
        events = [e.event for e in uow.audit.query() if e.event.startswith("provider.")]
        assert events == ["provider.removed", "provider.changed", "provider.created"]


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"mapping.group_roles": "it-admins => no-such-role"}, "no-such-role"),
        ({"client_secret": ""}, "needs a client secret"),
        ({"settings.hosted_domain": "<script>"}, "not a domain name"),
        ({"display_name": "x" * 101}, "display_name"),
        ({"policy.max_session_seconds": "soon"}, "max_session_seconds"),
    ],
)
def test_bad_input_is_refused_with_the_form_kept(admin_http, services, change, said):
    r = post(admin_http, "/console/providers/new", "/console/providers/new", **{**GOOGLE, **change})
    assert r.status_code in (400, 409) and said in html.unescape(r.text), r.text
    assert 'name="settings.client_id" type="text" value="corp-client"' in r.text
    assert _stored(services, "corp-google") is None
