"""Everything one protocol request needs below the web layer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from authserver import audit
from authserver.clock import to_datetime
from authserver.oauth.requests import RequestMeta
from authserver.services import Services
from authserver.storage.db import UnitOfWork


@dataclass
class OAuthContext:
    uow: UnitOfWork
    services: Services
    meta: RequestMeta

    def now(self) -> float:
        return self.services.clock.now()

    def now_dt(self) -> datetime:
        return to_datetime(self.now())

    def audit(self, event: audit.AuditEvent, **fields: Any) -> None:
        audit.record(
            self.uow,
            self.services.clock,
            event,
            ip=self.meta.ip,
            user_agent=self.meta.user_agent,
            **fields,
        )
