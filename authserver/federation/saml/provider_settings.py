"""The ``saml`` kind's settings: checked and completed when a provider is added or
changed (admin API, CLI and console alike), and turned into what a login needs.

Metadata (a URL, fetched now by the safe outbound rules, or an uploaded document) fills
``entity_id``, ``sso_url`` and ``signing_certificates``; the document itself is not
kept. A stored ``metadata_url`` is fetched again when the IdP fields are emptied (CLI:
``providers update ID --refresh-metadata``), so a certificate rollover is one command."""

from __future__ import annotations

from dataclasses import replace

from authserver.errors import InvalidInput
from authserver.federation.config import ProviderSettings
from authserver.federation.saml.config import NAMEID_EMAIL, IdentityProvider, load_certificate
from authserver.federation.saml.errors import SamlError
from authserver.federation.saml.mapping import (
    GUID_PATTERN,
    PRESET_NAME_ID_FORMATS,
    PRESETS,
    AttributeRules,
)
from authserver.federation.saml.metadata import parse_idp_metadata
from authserver.federation.saml.metadata_fetch import fetch_idp_metadata
from authserver.federation.urls import upstream_url_problem

OIDC_FIELDS = ("issuer", "client_id", "scopes", "allowed_tenants", "hosted_domain")
SAML_FIELDS = (
    "metadata_url",
    "metadata_xml",
    "entity_id",
    "sso_url",
    "preset",
    "name_id_format",
    "subject",
    "subject_attribute",
    "email_attribute",
    "name_attribute",
    "given_name_attribute",
    "family_name_attribute",
    "groups_separator",
    "allow_email_name_id",
)
DEFAULT_GROUPS_CLAIM = "groups"


def refuse_saml_fields(settings: ProviderSettings) -> None:
    """Other kinds carry none of the SAML settings."""
    given = [f for f in SAML_FIELDS if getattr(settings, f) is not None]
    if given or settings.signing_certificates:
        raise InvalidInput(
            f"settings.{(given or ['signing_certificates'])[0]} is for saml providers"
        )


def check(
    settings: ProviderSettings, allow_private_networks: bool, timeout: float = 10.0
) -> ProviderSettings:
    """The settings of a ``saml`` provider, completed from its metadata (a metadata_url
    fetched within ``timeout`` seconds in all); ``InvalidInput`` naming what is missing
    or wrong."""
    for name in OIDC_FIELDS:
        if getattr(settings, name):
            raise InvalidInput(f"settings.{name} is not for saml providers")
    if settings.metadata_url is not None:
        problem = upstream_url_problem(settings.metadata_url, allow_private_networks)
        if problem:
            raise InvalidInput(f"settings.metadata_url {problem}")
    update: dict[str, object] = {"metadata_xml": None}
    try:
        idp = _from_metadata(settings, allow_private_networks, timeout)
    except SamlError as exc:
        raise InvalidInput(f"IdP metadata: {exc.reason} ({exc.detail})") from None
    if idp is not None:
        update.update(
            entity_id=idp.entity_id,
            sso_url=idp.sso_url,
            signing_certificates=[_base64(c) for c in idp.certificates_pem()],
        )
    completed = settings.model_copy(update=update)
    _check_complete(completed, allow_private_networks)
    return completed


def _from_metadata(
    settings: ProviderSettings, allow_private: bool, timeout: float
) -> IdentityProvider | None:
    if settings.metadata_xml is not None:
        return parse_idp_metadata(settings.metadata_xml.encode(), settings.entity_id)
    complete = settings.entity_id and settings.sso_url and settings.signing_certificates
    if settings.metadata_url is not None and not complete:
        return fetch_idp_metadata(
            settings.metadata_url,
            entity_id=settings.entity_id,
            allow_private_networks=allow_private,
            timeout=timeout,
        )
    return None


def _check_complete(settings: ProviderSettings, allow_private: bool) -> None:
    if not settings.entity_id:
        raise InvalidInput("settings.entity_id is required (or metadata_url / metadata_xml)")
    if not settings.sso_url:
        raise InvalidInput("settings.sso_url is required (or metadata_url / metadata_xml)")
    if problem := upstream_url_problem(settings.sso_url, allow_private):
        raise InvalidInput(f"settings.sso_url {problem}")
    if not settings.signing_certificates:
        raise InvalidInput("settings.signing_certificates: at least one is required")
    for text in settings.signing_certificates:
        try:
            load_certificate(text)
        except SamlError:
            raise InvalidInput("settings.signing_certificates: not an X.509 certificate") from None
    if settings.tenant is not None and not GUID_PATTERN.fullmatch(settings.tenant.lower()):
        raise InvalidInput("settings.tenant: the Entra tenant id (GUID)")
    try:
        found = rules(settings, DEFAULT_GROUPS_CLAIM)
    except ValueError as exc:
        raise InvalidInput(f"settings: {exc}") from None
    if (
        name_id_format(settings) == NAMEID_EMAIL
        and found.subject == "name_id"
        and not found.allow_email_name_id
    ):
        raise InvalidInput(
            "settings.name_id_format: an e-mail NameID would be the subject; ask for a "
            "persistent one, or set allow_email_name_id to accept addresses as identities"
        )


def _base64(pem: str) -> str:
    return "".join(line for line in pem.strip().splitlines() if not line.startswith("-----"))


def name_id_format(settings: ProviderSettings) -> str | None:
    """The NameID format we ask for (and then require): the setting, else the preset's."""
    return settings.name_id_format or PRESET_NAME_ID_FORMATS.get(settings.preset or "")


def identity_provider(settings: ProviderSettings) -> IdentityProvider:
    """The IdP side of a stored (checked) ``saml`` provider."""
    certificates = tuple(load_certificate(c) for c in settings.signing_certificates)
    return IdentityProvider(settings.entity_id or "", settings.sso_url or "", certificates)


def rules(settings: ProviderSettings, groups_claim: str) -> AttributeRules:
    """The preset's attribute rules, overridden by what the provider sets. The groups
    attribute is the mapping's ``groups_claim``; left at its default, the preset's."""
    base = PRESETS.get(settings.preset or "", AttributeRules())
    changes = {
        name: value
        for name in (
            "subject",
            "subject_attribute",
            "email_attribute",
            "name_attribute",
            "given_name_attribute",
            "family_name_attribute",
            "groups_separator",
            "allow_email_name_id",
        )
        if (value := getattr(settings, name)) is not None
    }
    if settings.tenant is not None:
        changes["tenant_id"] = settings.tenant.lower()
    if groups_claim != DEFAULT_GROUPS_CLAIM or base.groups_attribute is None:
        changes["groups_attribute"] = groups_claim
    return replace(base, **changes)
