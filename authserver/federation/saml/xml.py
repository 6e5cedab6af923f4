"""Parsing XML that came from outside: no DTD, no entities, no network, bounded size.

A document type declaration is refused outright rather than ignored: XXE, billion
laughs and entity-based parser differentials all start there, and no SAML message or
metadata document needs one (SAML Core §1.3, SAML Bindings §3.5.4 forbid none, but
every IdP we connect to sends none)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from lxml import etree

from authserver.federation.saml.errors import SamlError

SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
MD = "urn:oasis:names:tc:SAML:2.0:metadata"
DS = "http://www.w3.org/2000/09/xmldsig#"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
NS = {"samlp": SAMLP, "saml": SAML, "md": MD, "ds": DS}

BINDING_REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
BINDING_POST = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"

_DECLARATION = re.compile(rb"<!(DOCTYPE|ENTITY|ELEMENT|ATTLIST)", re.IGNORECASE)
# SAML Core §1.3.3: times are xs:dateTime in UTC, "with no time zone component" other than Z.
_DATETIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z")


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=False,
        collect_ids=False,
    )


def parse_untrusted(document: bytes) -> etree._Element:
    """The root element of ``document``; raises ``SamlError("malformed_xml")`` for
    anything not well-formed and ``SamlError("doctype")`` for any DTD."""
    if _DECLARATION.search(document):
        raise SamlError("doctype", "document type or entity declaration")
    try:
        tree = etree.fromstring(document, _parser()).getroottree()
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise SamlError("malformed_xml", str(exc)[:200]) from None
    # The byte scan misses a declaration in a UTF-16 document; the parser does not.
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise SamlError("doctype", "document type declaration")
    return tree.getroot()


def qname(namespace: str, local: str) -> str:
    return f"{{{namespace}}}{local}"


def simple_text(element: etree._Element, what: str) -> str:
    """The text of an element that must hold text only: a child element, comment or
    processing instruction inside it is refused (CVE-2017-11427: a comment splits
    ``victim@example.com<!---->.evil.com`` so that a naive reader sees the first part)."""
    if len(element) or element.text is None:
        raise SamlError("bad_" + what, f"{what} must be plain text")
    return element.text.strip()


def parse_instant(value: str | None, what: str) -> datetime:
    """An xs:dateTime in UTC (SAML Core §1.3.3)."""
    if value is None or not _DATETIME.fullmatch(value):
        raise SamlError("bad_time", f"{what}: {value!r}")
    try:
        moment = datetime.fromisoformat(value[:-1][:26])
    except ValueError:  # the right shape, an impossible date or time (2026-02-30, 24:00)
        raise SamlError("bad_time", f"{what}: {value!r}") from None
    return moment.replace(tzinfo=UTC)


def format_instant(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
