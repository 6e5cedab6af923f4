"""Scope → user claims, for ID tokens and /userinfo (OIDC Core §5.4)."""

from __future__ import annotations

from typing import Any

from authlib.oidc.core import UserInfo

from authserver.accounts.roles import DEFAULT_ROLE
from authserver.clock import to_timestamp
from authserver.oauth.scopes import ROLES_SCOPE
from authserver.storage.models import User

SUPPORTED_CLAIMS = ["sub", "name", "email", "email_verified", "updated_at", "roles", "amr", "acr"]


class ScopedUserInfo(UserInfo):
    """Authlib's scope → claims table plus ours: `roles` with the `roles` scope."""

    SCOPES_CLAIMS_MAPPING = {**UserInfo.SCOPES_CLAIMS_MAPPING, ROLES_SCOPE: ["roles"]}


def user_info(user: User, scope: str) -> UserInfo:
    """The claims ``scope`` allows: `sub` always; `name`, `updated_at` with profile;
    `email`, `email_verified` with email; `roles` with roles."""
    info: dict[str, Any] = {"sub": user.id}
    if user.name:
        info["name"] = user.name
    if user.updated_at is not None:
        info["updated_at"] = int(to_timestamp(user.updated_at))
    info["email"] = user.email
    info["email_verified"] = bool(user.email_verified)
    info["roles"] = list(user.roles or [DEFAULT_ROLE])
    return UserInfo(ScopedUserInfo(info).filter(scope))
