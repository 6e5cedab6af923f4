"""What one SAML connection is: the IdP's side (from its metadata), ours (entity ID and
ACS URL, derived from the issuer and provider name), and the validation policy."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import timedelta

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from authserver.federation.saml.errors import SamlError

NAMEID_UNSPECIFIED = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
NAMEID_PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
NAMEID_EMAIL = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
NAMEID_TRANSIENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"


@dataclass(frozen=True)
class IdentityProvider:
    """The upstream IdP: its entity ID, where AuthnRequests go (HTTP-Redirect), and the
    certificates whose signature on an assertion is accepted (two during a rollover)."""

    entity_id: str
    sso_url: str
    certificates: tuple[x509.Certificate, ...]

    def certificates_pem(self) -> list[str]:
        return [c.public_bytes(Encoding.PEM).decode() for c in self.certificates]


@dataclass(frozen=True)
class ServiceProvider:
    """This server as SAML SP for one provider."""

    entity_id: str
    acs_url: str
    name_id_format: str | None = None


@dataclass(frozen=True)
class Policy:
    """Validation limits. The skew is small: clocks of IdPs in the cloud are good."""

    clock_skew: timedelta = timedelta(seconds=90)
    # An assertion issued longer ago than this is refused whatever its NotOnOrAfter says
    # (it also bounds how long the replay cache must keep its ID).
    max_assertion_age: timedelta = timedelta(minutes=10)
    max_response_bytes: int = 256 * 1024


def service_provider(
    issuer: str, provider_name: str, name_id_format: str | None = None
) -> ServiceProvider:
    """Our entity ID is our metadata URL (stable per provider; what IdPs expect)."""
    base = f"{issuer.rstrip('/')}/federation/saml/{provider_name}"
    return ServiceProvider(f"{base}/metadata", f"{base}/acs", name_id_format)


def load_certificate(text: str) -> x509.Certificate:
    """A certificate given as PEM or as the bare base64 of metadata's X509Certificate."""
    stripped = text.strip()
    try:
        if stripped.startswith("-----BEGIN"):
            return x509.load_pem_x509_certificate(stripped.encode())
        return x509.load_der_x509_certificate(
            base64.b64decode("".join(stripped.split()), validate=True)
        )
    except ValueError as exc:
        raise SamlError("bad_certificate", str(exc)[:200]) from None
