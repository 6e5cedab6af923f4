"""The access-token `jti` deny list: Redis in production, the database when embedded."""

from __future__ import annotations

import math
from typing import Protocol

import redis

from authserver.clock import Clock, to_datetime
from authserver.errors import ServiceUnavailable
from authserver.storage.db import UnitOfWork


class DenyList(Protocol):
    def deny(self, uow: UnitOfWork, jti: str, expires_at: float) -> None:
        """Deny ``jti`` until ``expires_at`` (epoch seconds), when the token dies anyway."""
        ...

    def is_denied(self, uow: UnitOfWork, jti: str) -> bool: ...

    def use_once(self, uow: UnitOfWork, key: str, expires_at: float) -> bool:
        """True the first time ``key`` is presented before ``expires_at``; False after
        (replay protection for client assertions, RFC 7523 §3 item 7)."""
        ...


class DatabaseDenyList:
    """Embedded mode: a table, written in the caller's transaction."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def deny(self, uow: UnitOfWork, jti: str, expires_at: float) -> None:
        uow.tokens.deny(jti, to_datetime(expires_at))

    def is_denied(self, uow: UnitOfWork, jti: str) -> bool:
        return uow.tokens.is_denied(jti, to_datetime(self.clock.now()))

    def use_once(self, uow: UnitOfWork, key: str, expires_at: float) -> bool:
        return uow.tokens.insert_once(key, to_datetime(expires_at))


class RedisDenyList:
    """Shared by every process; each entry expires with the token it denies."""

    def __init__(self, client: redis.Redis, prefix: str, clock: Clock) -> None:
        self.client = client
        self.prefix = prefix + "deny:"
        self.clock = clock

    def deny(self, uow: UnitOfWork, jti: str, expires_at: float) -> None:
        if expires_at <= self.clock.now():
            return
        try:
            self.client.set(self.prefix + jti, b"1", exat=math.ceil(expires_at))
        except redis.RedisError as exc:
            raise ServiceUnavailable("redis unavailable") from exc

    def is_denied(self, uow: UnitOfWork, jti: str) -> bool:
        try:
            return bool(self.client.exists(self.prefix + jti))
        except redis.RedisError as exc:
            raise ServiceUnavailable("redis unavailable") from exc

    def use_once(self, uow: UnitOfWork, key: str, expires_at: float) -> bool:
        try:
            return bool(
                self.client.set(
                    self.prefix + key,
                    b"1",
                    nx=True,
                    exat=math.ceil(max(expires_at, self.clock.now() + 1)),
                )
            )
        except redis.RedisError as exc:
            raise ServiceUnavailable("redis unavailable") from exc
