"""The unique key of an e-mail address: which addresses are the same account.

Rule (documented in the README):
- the domain in its IDNA ASCII form, lower-cased (``Bücher.DE`` and ``xn--bcher-kva.de``
  are one domain; ``straße.de`` is ``xn--strae-oqa.de``, not ``strasse.de``: they are
  different domains with different owners);
- the local part in Unicode NFC, lower-cased character by character (``str.lower``, the
  Unicode default lowercase mapping) -- not case-folded, which maps ``ß`` to ``ss`` and
  so merges mailboxes that are distinct. RFC 5321 §2.4 lets a host treat the local part
  case-sensitively; in practice none does, and an identity server that let ``Ann@`` and
  ``ann@`` be two accounts would invite impersonation.

Addresses are parsed as sign-up does (email-validator, no DNS); text that does not parse
(a stored value from before validation, a login with a typo) gets the same rule on its
last ``@`` so that it can still be looked up. Pure: the migration that re-keys stored
users uses it too."""

from __future__ import annotations

import unicodedata

from email_validator import EmailNotValidError, validate_email


def _ascii_domain(domain: str) -> str:
    try:
        return domain.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return domain.lower()


def email_key(address: str) -> str:
    """The lookup key of ``address`` (see the module docstring for the rule)."""
    address = address.strip()
    try:
        parsed = validate_email(address, check_deliverability=False)
        local, domain = parsed.local_part, (parsed.ascii_domain or "").lower()
    except EmailNotValidError:
        local, at, domain = address.rpartition("@")
        if not at:
            return unicodedata.normalize("NFC", address).lower()
        domain = _ascii_domain(domain)
    return f"{unicodedata.normalize('NFC', local).lower()}@{domain}"
