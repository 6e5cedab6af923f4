"""Each assertion accepted once (SAML Profiles §4.1.4.5: the SP MUST ensure a bearer
assertion is not replayed): its ID, keyed with the issuer, is remembered until the
assertion could no longer be accepted anyway. Redis when configured (every process
shares it), the database when embedded: the deny-list store's ``use_once``."""

from __future__ import annotations

import hashlib

from authserver.federation.saml.assertion import Assertion
from authserver.federation.saml.errors import SamlError
from authserver.storage.db import UnitOfWork
from authserver.storage.denylist import DenyList


def cache_key(issuer: str, assertion_id: str) -> str:
    return "saml:" + hashlib.sha256(f"{issuer}\0{assertion_id}".encode()).hexdigest()[:48]


def accept_once(uow: UnitOfWork, store: DenyList, assertion: Assertion) -> None:
    """Record ``assertion`` as used; ``SamlError("replay")`` if it already was."""
    key = cache_key(assertion.issuer, assertion.assertion_id)
    if not store.use_once(uow, key, assertion.expires_at.timestamp()):
        raise SamlError("replay", assertion.assertion_id[:100])
