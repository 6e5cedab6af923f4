"""A real SAML 2.0 IdP for the tests: pysaml2's ``saml2.server.Server`` behind an HTTP
server on 127.0.0.1 (in a thread of the test process), signing assertions with the
``xmlsec1`` binary, shaped like Entra ID, Okta or OneLogin.

``SamlIdp.user`` is who signs in next (no login page: the IdP's own authentication is
not what is tested). ``sign_with`` picks the signing key; ``publish`` which
certificates the metadata lists (both during a rollover)."""

from __future__ import annotations

import base64
import datetime
import html
import re
import shutil
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.config import IdPConfig
from saml2.metadata import create_metadata_string
from saml2.saml import NAME_FORMAT_URI, NameID
from saml2.server import Server
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256

PASSWORD = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
EMAIL = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
UNSPECIFIED = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"

ENTRA_TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
MS = "http://schemas.microsoft.com"
XMLSOAP = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims"


def key_pair(directory: Path, name: str) -> tuple[Path, Path, rsa.RSAPrivateKey, x509.Certificate]:
    """An RSA key and a self-signed certificate, as IdPs publish them."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.datetime.now(datetime.UTC)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"test idp {name}")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    key_file, cert_file = directory / f"{name}.key", directory / f"{name}.crt"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key_file, cert_file, key, cert


@dataclass
class User:
    name_id: str
    name_id_format: str
    attributes: dict[str, list[str]] = field(default_factory=dict)


def entra_user(object_id: str, email: str, groups: list[str], overage: bool = False) -> User:
    attributes = {
        f"{MS}/identity/claims/tenantid": [ENTRA_TENANT],
        f"{MS}/identity/claims/objectidentifier": [object_id],
        f"{XMLSOAP}/emailaddress": [email],
        f"{XMLSOAP}/name": [email],
        f"{MS}/identity/claims/displayname": ["Ada Lovelace"],
    }
    if overage:
        attributes[f"{MS}/claims/groups.link"] = [
            f"https://graph.windows.net/{ENTRA_TENANT}/users/{object_id}/getMemberObjects"
        ]
    else:
        attributes[f"{MS}/ws/2008/06/identity/claims/groups"] = groups
    # Entra's NameID is a pairwise persistent value by default, not the object ID.
    return User("pw-" + object_id[:8], PERSISTENT, attributes)


def okta_user(user_id: str, email: str, groups: list[str]) -> User:
    return User(
        user_id,
        PERSISTENT,
        {"email": [email], "firstName": ["Grace"], "lastName": ["Hopper"], "groups": groups},
    )


def onelogin_user(email: str, member_of: list[str]) -> User:
    return User(
        email,
        EMAIL,
        {
            "User.email": [email],
            "User.FirstName": ["Katherine"],
            "User.LastName": ["Johnson"],
            "memberOf": [";".join(member_of)],
        },
    )


class SamlIdp:
    def __init__(
        self, directory: Path, tls_chain: Path | None = None, host: str = "127.0.0.1"
    ) -> None:
        self.directory = directory
        self._no_maps = directory / "attribute-maps"
        self._no_maps.mkdir(exist_ok=True)
        (self._no_maps / "authserver_test_idp_map.py").write_text(
            f'MAP = {{"identifier": "{NAME_FORMAT_URI}", "fro": {{}}, "to": {{}}}}\n'
        )
        self.keys = {n: key_pair(directory, n) for n in ("current", "next")}
        self.signing = "current"
        self.published = ("current",)
        self.user: User | None = None
        self.sp_metadata: bytes | None = None
        self.requests: list[Any] = []
        self.algorithms = (SIG_RSA_SHA256, DIGEST_SHA256)
        # The person's single sign-on session here (epoch seconds it began): the
        # AuthnInstant of an answer that does not authenticate anew. None: every answer
        # authenticates now. ``honours_force_authn``: a ForceAuthn request authenticates
        # now (SAML Core §3.4.1) -- or, like some IdPs, the session answers anyway.
        self.session_started: float | None = None
        self.honours_force_authn = True
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        scheme = "http"
        if tls_chain is not None:
            tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            tls.load_cert_chain(tls_chain)
            self._httpd.socket = tls.wrap_socket(self._httpd.socket, server_side=True)
            scheme = "https"
        # ``host`` "localhost" makes the IdP another site than a server at 127.0.0.1 (the
        # browser then treats its POST to us as cross-site, as with a real IdP).
        self.base = f"{scheme}://{host}:{self._httpd.server_address[1]}"
        self.entity_id = self.base + "/metadata"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    # --- what the tests use ---------------------------------------------------------

    def start(self) -> SamlIdp:
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self._httpd.shutdown()
        self._httpd.server_close()

    def certificate(self, name: str = "current") -> x509.Certificate:
        return self.keys[name][3]

    def private_key(self, name: str = "current") -> rsa.RSAPrivateKey:
        return self.keys[name][2]

    def metadata(self) -> bytes:
        config = self._config(self.published[0])
        xml = create_metadata_string(None, config=config, valid=None).decode()
        if len(self.published) > 1:
            # pysaml2 lists one key; add the others as further signing KeyDescriptors.
            extra = "".join(self._key_descriptor(n) for n in self.published[1:])
            xml = re.sub(r"(<ns\d+:KeyDescriptor|<md:KeyDescriptor)", extra + r"\1", xml, count=1)
        return xml.encode()

    def respond(self, query: str) -> tuple[str, str, str]:
        """Answer an HTTP-Redirect AuthnRequest as the browser would see it: the form's
        action, SAMLResponse and RelayState."""
        params = {k: v[0] for k, v in parse_qs(query).items()}
        server = Server(config=self._config(self.signing))
        request = server.parse_authn_request(params["SAMLRequest"], BINDING_HTTP_REDIRECT)
        self.requests.append(request.message)
        args = server.response_args(request.message, [BINDING_HTTP_POST])
        assert self.user is not None, "set idp.user first"
        forced = request.message.force_authn == "true" and self.honours_force_authn
        instant = time.time() if forced or self.session_started is None else self.session_started
        response = server.create_authn_response(
            {k: v for k, v in self.user.attributes.items()},
            name_id=NameID(format=self.user.name_id_format, text=self.user.name_id),
            authn={
                "class_ref": PASSWORD,
                "authn_auth": self.entity_id,
                "authn_instant": int(instant),
            },
            sign_assertion=True,
            sign_response=False,
            sign_alg=self.algorithms[0],
            digest_alg=self.algorithms[1],
            **args,
        )
        form = server.apply_binding(
            BINDING_HTTP_POST,
            str(response),
            args["destination"],
            params.get("RelayState", ""),
            response=True,
        )["data"]
        action = html.unescape(re.search(r'action="([^"]+)"', form).group(1))
        saml_response = html.unescape(
            re.search(r'name="SAMLResponse" value="([^"]+)"', form).group(1)
        )
        relay = re.search(r'name="RelayState" value="([^"]*)"', form)
        return action, saml_response, html.unescape(relay.group(1)) if relay else ""

    # --- pysaml2 ------------------------------------------------------------------------

    def _config(self, key_name: str) -> IdPConfig:
        key_file, cert_file, *_ = self.keys[key_name]
        config: dict[str, Any] = {
            "entityid": self.entity_id,
            "xmlsec_binary": shutil.which("xmlsec1"),
            "allow_unknown_attributes": True,
            # No attribute converters: names go out exactly as the shapes above spell
            # them (pysaml2 would turn "email" into an OID).
            "attribute_map_dir": str(self._no_maps),
            "key_file": str(key_file),
            "cert_file": str(cert_file),
            "service": {
                "idp": {
                    "endpoints": {
                        "single_sign_on_service": [(self.base + "/sso", BINDING_HTTP_REDIRECT)]
                    },
                    "name_id_format": [PERSISTENT, EMAIL, UNSPECIFIED],
                    "want_authn_requests_signed": False,
                    "policy": {
                        "default": {
                            "lifetime": {"minutes": 5},
                            "attribute_restrictions": None,
                            "name_form": NAME_FORMAT_URI,
                        }
                    },
                }
            },
        }
        if self.sp_metadata is not None:
            config["metadata"] = {"inline": [self.sp_metadata.decode()]}
        idp_config = IdPConfig()
        idp_config.load(config)
        return idp_config

    def _key_descriptor(self, name: str) -> str:
        der = self.keys[name][3].public_bytes(serialization.Encoding.DER)
        return (
            '<md:KeyDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" use="signing">'
            '<ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data>'
            f"<ds:X509Certificate>{base64.b64encode(der).decode()}</ds:X509Certificate>"
            "</ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"
        )

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        idp = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path == "/metadata":
                    self._send(200, "application/samlmetadata+xml", idp.metadata())
                elif parts.path == "/sso":
                    action, saml_response, relay = idp.respond(parts.query)
                    value = html.escape(saml_response)
                    page = (
                        f'<html><body onload="document.forms[0].submit()">'
                        f'<form method="post" action="{html.escape(action)}">'
                        f'<input type="hidden" name="SAMLResponse" value="{value}">'
                        f'<input type="hidden" name="RelayState" value="{html.escape(relay)}">'
                        f'<button type="submit">Continue</button></form></body></html>'
                    )
                    self._send(200, "text/html", page.encode())
                else:
                    self._send(404, "text/plain", b"not found")

            def _send(self, status: int, kind: str, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler
