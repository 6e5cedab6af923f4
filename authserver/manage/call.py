"""One administrative action inside its unit of work, and who is doing it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from authserver import audit
from authserver.services import Services
from authserver.storage.db import UnitOfWork


@dataclass
class AdminCall:
    """One admin request inside its unit of work."""

    uow: UnitOfWork
    services: Services
    admin_id: str
    ip: str | None
    user_agent: str | None
    # Where the change came from, recorded with it: "admin_api" or "console".
    via: str = "admin_api"
    # Run after the transaction committed (e-mail delivery), in the same thread.
    after_commit: list[Callable[[], object]] = field(default_factory=list)
    # The console: the admin's login session (what a provider test login is bound to).
    session_id: str = ""

    def audit(self, event: audit.AuditEvent, **fields: Any) -> None:
        """Record ``event`` with the acting admin, their address and the channel."""
        audit.record(
            self.uow,
            self.services.clock,
            event,
            ip=self.ip,
            user_agent=self.user_agent,
            actor=self.admin_id,
            via=self.via,
            **fields,
        )
