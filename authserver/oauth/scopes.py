"""Scope rules shared by the grants."""

from __future__ import annotations

from collections.abc import Collection

from authlib.oauth2.rfc6749 import InvalidScopeError

from authserver.oauth.client import OAuthClient

OPENID = "openid"
OFFLINE_ACCESS = "offline_access"
# OpenID Connect scopes: about the end user, so meaningless without one.
OIDC_SCOPES = frozenset({OPENID, "profile", "email", "address", "phone", OFFLINE_ACCESS, "roles"})
# Scopes only users holding a role may be granted.
ROLE_SCOPES = {"admin": "admin"}
# Asks for the user's role set in the ID token and at userinfo (`roles` claim).
ROLES_SCOPE = "roles"

MAX_SCOPE_CHARS = 2000


def requested_scopes(scope: str | None) -> list[str]:
    if scope and len(scope) > MAX_SCOPE_CHARS:
        raise InvalidScopeError("The scope parameter is too long.")
    return list(dict.fromkeys(scope.split())) if scope else []


# The user is not known yet (an authorization request before login): role-restricted
# scopes pass for now and are checked again once the user has logged in.
UNKNOWN_USER: frozenset[str] = frozenset({"*"})


def _role_allows(scope: str, roles: Collection[str] | None) -> bool:
    required = ROLE_SCOPES.get(scope)
    if required is None or roles is UNKNOWN_USER:
        return True
    return roles is not None and required in roles


def check_client_scope(
    client: OAuthClient, scope: str | None, *, user_roles: Collection[str] | None
) -> str:
    """The scope to grant, or ``invalid_scope`` (RFC 6749 §5.2) when the request names a
    scope the client is not registered for, or one the user's roles do not allow.
    ``user_roles`` None means no user (client_credentials): no OpenID Connect scopes.
    No scope requested: every registered scope the grant allows (RFC 6749 §3.3)."""
    asked = requested_scopes(scope)
    allowed = [s for s in client.scopes if user_roles is not None or s not in OIDC_SCOPES]
    if any(s not in allowed for s in asked):
        raise InvalidScopeError("The requested scope is not allowed for this client.")
    if asked:
        if not all(_role_allows(s, user_roles) for s in asked):
            raise InvalidScopeError("The requested scope is not allowed for this user.")
        granted = asked
    else:
        granted = [s for s in allowed if _role_allows(s, user_roles)]
    if not granted:
        raise InvalidScopeError("No scope can be granted to this client.")
    return " ".join(granted)
