"""A provider whose issuer, client id or tenant changes is another upstream: the
(provider, subject) links made through the old one must not sign in through the new one
(security review: a repointed provider takes over every linked account)."""

from __future__ import annotations

import pytest

from authserver.errors import Conflict
from authserver.federation import providers
from authserver.federation.config import ProviderConfig
from authserver.federation.profile import UpstreamProfile
from authserver.federation.resolution import new_identity
from tests.helpers import password_grant

SETTINGS = {"issuer": "https://a.example", "client_id": "authserver"}


def corp_with_a_link(services, factory) -> str:
    user = factory.user()
    registry = providers.registry(services)
    with services.db.unit_of_work() as uow:
        config = ProviderConfig(display_name="Corp", settings=SETTINGS)
        providers.create(uow, registry, "corp", "oidc", config, "secret")
        profile = UpstreamProfile("123", None, False, None, None, {})
        uow.identities.add(new_identity(services.clock, "corp", user, profile))
    return user.id


@pytest.mark.parametrize("changes", [{"issuer": "https://b.example"}, {"client_id": "another-app"}])
def test_repointing_a_provider_with_linked_identities_is_refused(services, factory, changes):
    user_id = corp_with_a_link(services, factory)
    registry = providers.registry(services)
    with services.db.unit_of_work() as uow:
        provider = providers.get(uow, "corp")
        config = providers.patched(provider, {"settings": {**SETTINGS, **changes}})
        with pytest.raises(Conflict, match="1 linked identities"):
            providers.update(uow, registry, "corp", config)
    with services.db.unit_of_work() as uow:
        assert uow.providers.get("corp").settings["issuer"] == "https://a.example"
        assert uow.identities.find("corp", "123").user_id == user_id
        # Other changes still go through with the links kept.
        provider = providers.get(uow, "corp")
        providers.update(uow, registry, "corp", providers.patched(provider, {"display_name": "C"}))
    with services.db.unit_of_work() as uow:
        assert uow.identities.find("corp", "123").user_id == user_id


def test_repointing_with_unlink_identities_drops_the_links_audited(services, factory):
    user_id = corp_with_a_link(services, factory)
    registry = providers.registry(services)
    with services.db.unit_of_work() as uow:
        provider = providers.get(uow, "corp")
        config = providers.patched(
            provider, {"settings": {**SETTINGS, "issuer": "https://b.example"}}
        )
        providers.update(uow, registry, "corp", config, unlink_identities=True)
    with services.db.unit_of_work() as uow:
        assert uow.providers.get("corp").settings["issuer"] == "https://b.example"
        assert uow.identities.find("corp", "123") is None
        (event,) = uow.audit.query(event="federation.unlinked")
        assert event.user_id == user_id
        assert event.details["reason"] == "provider_repointed"
        assert event.details["subject"] == "123"


def test_the_admin_api_refuses_a_repointing_unless_told_to_unlink(client, services, factory):
    corp_with_a_link(services, factory)
    app = factory.password_client(scope="openid admin")
    admin = factory.user(role="admin")
    token = password_grant(client, app, admin, scope="admin").json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    change = {"settings": {**SETTINGS, "issuer": "https://b.example"}}
    r = client.patch("/admin/providers/corp", json=change, headers=headers)
    assert r.status_code == 409, r.text
    with services.db.unit_of_work() as uow:
        assert uow.identities.find("corp", "123") is not None
    r = client.patch(
        "/admin/providers/corp", json={**change, "unlink_identities": True}, headers=headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["settings"]["issuer"] == "https://b.example"
    with services.db.unit_of_work() as uow:
        assert uow.identities.find("corp", "123") is None
