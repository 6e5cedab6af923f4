"""Scope → user claims, for ID tokens and /userinfo (OIDC Core §5.4)."""

from __future__ import annotations

from typing import Any

from authlib.oidc.core import UserInfo

from authserver.clock import to_timestamp
from authserver.storage.models import User

SUPPORTED_CLAIMS = ["sub", "name", "email", "email_verified", "updated_at"]


def user_info(user: User, scope: str) -> UserInfo:
    """The claims ``scope`` allows: `sub` always; `name`, `updated_at` with profile;
    `email`, `email_verified` with email."""
    info: dict[str, Any] = {"sub": user.id}
    if user.name:
        info["name"] = user.name
    if user.updated_at is not None:
        info["updated_at"] = int(to_timestamp(user.updated_at))
    info["email"] = user.email
    info["email_verified"] = bool(user.email_verified)
    return UserInfo(info).filter(scope)
