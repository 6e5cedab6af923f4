"""Clients: find, register, change (with lost-update detection), rotate the secret,
delete. Each change drops the client from the process's client cache and is audited."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from authserver.audit import AuditEvent
from authserver.errors import Conflict, NotFound
from authserver.manage.call import AdminCall
from authserver.oauth import client_registry
from authserver.storage.models import Client

MAX_QUERY = 200


def version_of(client: Client) -> str:
    """What an edit form carries to detect a concurrent change: the last change's time."""
    return client.updated_at.isoformat()


def find(
    call: AdminCall, query: str | None, offset: int, limit: int
) -> tuple[Sequence[Client], int]:
    """A page of clients whose id or name contains ``query`` (all without one), by id;
    and how many match."""
    text = (query or "").strip()[:MAX_QUERY] or None
    rows = call.uow.clients.list(offset=offset, limit=limit, containing=text)
    return rows, call.uow.clients.count(containing=text)


def get(call: AdminCall, client_id: str) -> Client:
    client = call.uow.clients.get(client_id)
    if client is None:
        raise NotFound(f"no client {client_id}")
    return client


def create(call: AdminCall, fields: dict[str, Any]) -> tuple[Client, str | None]:
    """Register a client from ``ClientSpec`` fields (display URIs among them); returns
    it and its secret, shown this once."""
    fields = dict(fields)
    display = {k: fields.pop(k, None) for k in client_registry.DISPLAY_URIS}
    spec = client_registry.ClientSpec(
        **fields, extra_metadata={k: v for k, v in display.items() if v not in (None, "")}
    )
    client, secret = client_registry.register_client(call.uow, call.services.clock, spec)
    call.audit(AuditEvent.CLIENT_CREATED, client_id=client.client_id)
    return client, secret


def update(
    call: AdminCall,
    client_id: str,
    changes: dict[str, Any],
    expected_version: str | None = None,
) -> Client:
    """Apply ``changes``. With ``expected_version`` (``version_of`` when the editor read
    the client), a change made since by someone else is refused with ``Conflict``
    instead of being overwritten: the row is locked for the check and the write."""
    if expected_version is not None:
        current = call.uow.clients.get(client_id, for_update=True)
        if current is None:
            raise NotFound(f"no client {client_id}")
        if version_of(current) != expected_version:
            raise Conflict(
                "someone else changed this client after you opened it; "
                "reload it and make your change again"
            )
    client, changed = client_registry.update_client(
        call.uow, call.services.clock, client_id, changes
    )
    _invalidate(call, client_id)
    call.audit(AuditEvent.CLIENT_CHANGED, client_id=client_id, fields=changed)
    return client


def rotate_secret(call: AdminCall, client_id: str) -> str:
    """A new secret (shown once); the old one stops working at once."""
    secret = client_registry.rotate_secret(call.uow, call.services.clock, client_id)
    _invalidate(call, client_id)
    call.audit(AuditEvent.CLIENT_CHANGED, client_id=client_id, change="secret_rotated")
    return secret


def delete(call: AdminCall, client_id: str) -> None:
    if not call.uow.clients.delete(client_id):
        raise NotFound(f"no client {client_id}")
    _invalidate(call, client_id)
    call.audit(AuditEvent.CLIENT_DELETED, client_id=client_id)


def _invalidate(call: AdminCall, client_id: str) -> None:
    """Drop the cached registration now and once the change has committed: a request
    in between reads the row still committed and would cache it for the cache's ttl."""
    call.services.clients.invalidate(client_id)
    call.uow.on_commit(lambda: call.services.clients.invalidate(client_id))
