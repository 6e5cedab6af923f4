"""IdP metadata from its URL (Entra ID's FederationMetadata.xml, Okta's and OneLogin's
per-application metadata URLs), fetched by the safe outbound rules of ``keys.remote``."""

from __future__ import annotations

from authserver.federation.saml.config import IdentityProvider
from authserver.federation.saml.errors import SamlError
from authserver.federation.saml.metadata import MAX_METADATA_BYTES, parse_idp_metadata
from authserver.keys.remote import DocumentUnavailable, fetch_document


def fetch_idp_metadata(
    url: str,
    *,
    entity_id: str | None = None,
    allow_private_networks: bool = False,
    timeout: float = 10.0,
) -> IdentityProvider:
    """The IdP described at ``url``; ``SamlError("metadata_unavailable")`` when it
    cannot be fetched, or the parsing errors of ``parse_idp_metadata``."""
    try:
        document = fetch_document(
            url,
            accept="application/samlmetadata+xml, application/xml, text/xml",
            max_bytes=MAX_METADATA_BYTES,
            allow_private_networks=allow_private_networks,
            timeout=timeout,
        )
    except DocumentUnavailable as exc:
        raise SamlError("metadata_unavailable", f"{url}: {exc}") from None
    return parse_idp_metadata(document, entity_id)
