"""The XML-signature check of an assertion, and the only module that imports the
XML-signature library (signxml), so that it can be replaced.

Contract (XML Signature Best Practices, "see what is signed"): ``signed_assertion``
returns the assertion *as the signature covers it*, re-parsed from the canonical bytes
that were digested, and callers read identity from that element alone. A signature
that verifies but covers another element, a second assertion beside the signed one,
duplicated IDs (the "evil twin" a by-ID lookup may resolve either way), SHA-1, DSA,
HMAC or a certificate that is not one the operator configured: each is refused."""

from __future__ import annotations

from collections.abc import Sequence

from cryptography import x509
from lxml import etree
from signxml import InvalidInput, SignatureConfiguration, XMLVerifier
from signxml.algorithms import DigestAlgorithm, SignatureMethod
from signxml.exceptions import InvalidCertificate, InvalidDigest, InvalidSignature

from authserver.federation.saml.errors import SamlError
from authserver.federation.saml.xml import NS, SAML, qname

ALLOWED_SIGNATURE_METHODS = frozenset(
    {
        SignatureMethod.RSA_SHA256,
        SignatureMethod.RSA_SHA384,
        SignatureMethod.RSA_SHA512,
        SignatureMethod.ECDSA_SHA256,
        SignatureMethod.ECDSA_SHA384,
        SignatureMethod.ECDSA_SHA512,
    }
)
ALLOWED_DIGESTS = frozenset(
    {DigestAlgorithm.SHA256, DigestAlgorithm.SHA384, DigestAlgorithm.SHA512}
)
_ID_ATTRIBUTES = ("ID", "Id", "id", "AssertionID")
_SHA1 = ("sha1", "#dsa-")


def only_assertion(root: etree._Element) -> etree._Element:
    """The single ``saml:Assertion`` of a Response, a direct child of its root.

    Refused: no assertion or several anywhere in the document (a signed one moved into
    an extension with an unsigned one in its place, or an unsigned one added), an
    encrypted assertion (not supported), and any ID used twice."""
    assertions = root.findall(".//" + qname(SAML, "Assertion"))
    if root.find(".//" + qname(SAML, "EncryptedAssertion")) is not None:
        raise SamlError("encrypted_assertion", "encrypted assertions are not supported")
    if len(assertions) != 1:
        raise SamlError("assertion_count", f"{len(assertions)} assertions")
    assertion = assertions[0]
    if assertion.getparent() is not root:
        raise SamlError("assertion_position", "the assertion is not a child of the Response")
    seen: set[str] = set()
    for element in root.iter():
        for name in _ID_ATTRIBUTES:
            value = element.get(name) if isinstance(element.tag, str) else None
            if value is not None:
                if value in seen:
                    raise SamlError("duplicate_id", value)
                seen.add(value)
    return assertion


def signed_assertion(
    root: etree._Element, certificates: Sequence[x509.Certificate]
) -> etree._Element:
    """The Response's assertion as signed by one of ``certificates`` (tried in order:
    several are configured during a rollover); raises ``SamlError``."""
    assertion = only_assertion(root)
    assertion_id = assertion.get("ID")
    signature = assertion.find("ds:Signature", NS)
    if not assertion_id or signature is None:
        raise SamlError("unsigned_assertion", "the assertion carries no signature")
    _refuse_weak_algorithms(signature)
    references = signature.findall("ds:SignedInfo/ds:Reference", NS)
    if len(references) != 1 or references[0].get("URI") != "#" + assertion_id:
        raise SamlError("signature_reference", "the signature does not cover the assertion")
    config = SignatureConfiguration(
        location="./" + qname(SAML, "Assertion") + "/",
        expect_references=1,
        signature_methods=ALLOWED_SIGNATURE_METHODS,
        digest_algorithms=ALLOWED_DIGESTS,
    )
    failure = SamlError("no_certificate", "no signing certificate configured")
    for certificate in certificates:
        try:
            result = XMLVerifier().verify(
                root, x509_cert=certificate, expect_config=config, id_attribute="ID"
            )
        except InvalidCertificate as exc:
            failure = SamlError("certificate_invalid", str(exc)[:200])
        except (InvalidSignature, InvalidDigest) as exc:
            failure = SamlError("bad_signature", str(exc)[:200])
        except (InvalidInput, etree.DocumentInvalid, ValueError) as exc:
            failure = SamlError("bad_signature", str(exc)[:200])
        else:
            signed = result.signed_xml  # type: ignore[union-attr]
            if (
                signed is None
                or signed.tag != qname(SAML, "Assertion")
                or signed.get("ID") != assertion_id
            ):
                raise SamlError("signature_reference", "the signature covers another element")
            return signed
    raise failure


def _refuse_weak_algorithms(signature: etree._Element) -> None:
    # signxml refuses these too (by the configuration above); named here so the audit
    # reason says "weak_algorithm" rather than a generic signature failure.
    for element in signature.iter(
        qname(NS["ds"], "SignatureMethod"), qname(NS["ds"], "DigestMethod")
    ):
        algorithm = (element.get("Algorithm") or "").lower()
        if any(marker in algorithm for marker in _SHA1):
            raise SamlError("weak_algorithm", algorithm)
