"""From a validated assertion to the upstream identity the federation core resolves:
which value is the subject (immutable, never the e-mail unless the operator says so:
an e-mail-format NameID only with ``allow_email_name_id``),
the profile attributes, and the groups (multi-valued, or one value with a separator;
``None`` when the IdP signalled that it left them out).

SAML has no "e-mail verified" flag: ``email_verified`` is always False, so an e-mail
from a SAML IdP never links an existing account by itself (DESIGN: linking)."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from authserver.federation.saml.assertion import Assertion
from authserver.federation.saml.config import NAMEID_EMAIL, NAMEID_TRANSIENT
from authserver.federation.saml.errors import SamlError

SUBJECT_RULES = ("name_id", "attribute", "entra")
GUID_PATTERN = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
MAX_GROUPS = 1000


@dataclass(frozen=True)
class AttributeRules:
    """Per provider: where the subject, profile and groups are in the assertion."""

    subject: str = "name_id"
    subject_attribute: str | None = None
    # With subject "entra": the tenant whose users may sign in (its tenantid claim).
    tenant_id: str | None = None
    email_attribute: str | None = None
    name_attribute: str | None = None
    given_name_attribute: str | None = None
    family_name_attribute: str | None = None
    groups_attribute: str | None = None
    groups_separator: str | None = None
    # Present instead of the groups when there are too many (Entra: over 150).
    overage_attributes: tuple[str, ...] = ()
    # The operator's opt-in to an e-mail-format NameID as the subject (DESIGN: an
    # upstream identity is never an e-mail; addresses are reassigned and renamed).
    allow_email_name_id: bool = False

    def __post_init__(self) -> None:
        if self.subject not in SUBJECT_RULES:
            raise ValueError(f"subject must be one of {', '.join(SUBJECT_RULES)}")
        if self.subject == "attribute" and not self.subject_attribute:
            raise ValueError("subject 'attribute' needs subject_attribute")

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["overage_attributes"] = list(self.overage_attributes)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AttributeRules:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known["overage_attributes"] = tuple(known.get("overage_attributes") or ())
        return cls(**known)


@dataclass(frozen=True)
class UpstreamIdentity:
    subject: str
    email: str | None
    name: str | None
    given_name: str | None
    family_name: str | None
    groups: tuple[str, ...] | None
    groups_overage: bool = False
    email_verified: bool = False
    assertion: dict[str, Any] = field(default_factory=dict)

    def claims(self) -> dict[str, Any]:
        """The identity as OIDC-style claims, the shape the federation core maps."""
        claims: dict[str, Any] = {"sub": self.subject, "email_verified": False}
        for key in ("email", "name", "given_name", "family_name"):
            if getattr(self, key):
                claims[key] = getattr(self, key)
        if self.groups is not None:
            claims["groups"] = list(self.groups)
        return claims


def map_assertion(assertion: Assertion, rules: AttributeRules) -> UpstreamIdentity:
    """The identity ``assertion`` names under ``rules``; ``SamlError`` when the subject
    cannot be had (a transient NameID, a missing attribute, a foreign Entra tenant)."""
    attributes = assertion.attributes
    groups, overage = _groups(attributes, rules)
    return UpstreamIdentity(
        subject=_subject(assertion, rules),
        email=_single(attributes, rules.email_attribute),
        name=_single(attributes, rules.name_attribute),
        given_name=_single(attributes, rules.given_name_attribute),
        family_name=_single(attributes, rules.family_name_attribute),
        groups=groups,
        groups_overage=overage,
        assertion=assertion.summary(),
    )


def _subject(assertion: Assertion, rules: AttributeRules) -> str:
    if rules.subject == "entra":
        # Entra ID: the object ID within the tenant is immutable; the e-mail and UPN are
        # not (nOAuth), and the default NameID is pairwise per application.
        tenant = _single(assertion.attributes, ENTRA_TENANT)
        object_id = _single(assertion.attributes, ENTRA_OBJECT_ID)
        if (
            not tenant
            or not object_id
            or not (GUID_PATTERN.fullmatch(tenant) and GUID_PATTERN.fullmatch(object_id))
        ):
            raise SamlError("no_subject", "tenantid and objectidentifier GUIDs required")
        if rules.tenant_id and tenant != rules.tenant_id.lower():
            raise SamlError("wrong_tenant", tenant)
        return f"{tenant}/{object_id}"
    if rules.subject == "attribute":
        value = _single(assertion.attributes, rules.subject_attribute)
        if not value:
            raise SamlError("no_subject", f"attribute {rules.subject_attribute} missing")
        return value
    if assertion.name_id_format == NAMEID_TRANSIENT:
        raise SamlError("transient_name_id", "a transient NameID names nobody twice")
    if assertion.name_id_format == NAMEID_EMAIL and not rules.allow_email_name_id:
        # An address is not a person: it is renamed, and reassigned when someone leaves.
        raise SamlError("email_name_id", "an e-mail NameID is no subject (allow_email_name_id)")
    return assertion.name_id


def _single(attributes: dict[str, list[str]], name: str | None) -> str | None:
    values = attributes.get(name or "") or []
    return values[0].strip() or None if values else None


def _groups(
    attributes: dict[str, list[str]], rules: AttributeRules
) -> tuple[tuple[str, ...] | None, bool]:
    if any(attributes.get(name) for name in rules.overage_attributes):
        # Entra replaced the groups by a Graph link: we do not know them, so they grant nothing.
        return None, True
    if not rules.groups_attribute or rules.groups_attribute not in attributes:
        return None, False
    values = attributes[rules.groups_attribute]
    if rules.groups_separator:
        values = [part for value in values for part in value.split(rules.groups_separator)]
    groups = tuple(dict.fromkeys(v.strip() for v in values if v.strip()))
    if len(groups) > MAX_GROUPS:
        return None, True
    return groups, False


MS = "http://schemas.microsoft.com"
XMLSOAP = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims"
ENTRA_TENANT = f"{MS}/identity/claims/tenantid"
ENTRA_OBJECT_ID = f"{MS}/identity/claims/objectidentifier"

PRESETS: dict[str, AttributeRules] = {
    "entra": AttributeRules(
        subject="entra",
        email_attribute=f"{XMLSOAP}/emailaddress",
        name_attribute=f"{MS}/identity/claims/displayname",
        given_name_attribute=f"{XMLSOAP}/givenname",
        family_name_attribute=f"{XMLSOAP}/surname",
        groups_attribute=f"{MS}/ws/2008/06/identity/claims/groups",
        overage_attributes=(f"{MS}/claims/groups.link",),
    ),
    "okta": AttributeRules(
        subject="name_id",
        email_attribute="email",
        given_name_attribute="firstName",
        family_name_attribute="lastName",
        groups_attribute="groups",
    ),
    "onelogin": AttributeRules(
        subject="name_id",
        email_attribute="User.email",
        given_name_attribute="User.FirstName",
        family_name_attribute="User.LastName",
        groups_attribute="memberOf",
        groups_separator=";",
    ),
}
# The NameID format each preset asks for (Okta: persistent, so the subject is immutable).
PRESET_NAME_ID_FORMATS = {
    "entra": None,
    "okta": "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
    "onelogin": None,
}
