"""Home-realm discovery with an internationalised e-mail domain: stored and compared in
IDNA form, so ``a@bücher.example`` finds the provider bound to ``xn--bcher-kva.example``."""

from __future__ import annotations

import pytest

from authserver.federation import providers
from authserver.federation.config import ProviderConfig


@pytest.mark.parametrize("bound", ["xn--bcher-kva.example", "Bücher.example"])
def test_a_non_ascii_email_domain_finds_its_provider(services, bound):
    registry = providers.registry(services)
    with services.db.unit_of_work() as uow:
        config = ProviderConfig(
            display_name="Corp",
            domains=[bound],
            settings={"issuer": "https://a.example", "client_id": "authserver"},
        )
        created = providers.create(uow, registry, "corp", "oidc", config, "secret")
        assert created.domains == ["xn--bcher-kva.example"]
    with services.db.unit_of_work() as uow:
        assert providers.for_email(uow, "a@bücher.example").id == "corp"
        assert providers.for_email(uow, "a@BÜCHER.example.").id == "corp"
        assert providers.for_email(uow, "a@xn--bcher-kva.example").id == "corp"
        assert providers.for_email(uow, "a@b\u00fccher..example") is None
