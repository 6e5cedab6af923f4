"""The paths of the admin API's OpenAPI description, one function per tag, in the order
the document lists them: clients, users and roles here, the server's configuration in
``openapi_config_paths``."""

from __future__ import annotations

from typing import Any

from authserver.admin import openapi_config_paths as config
from authserver.admin import schemas as s
from authserver.admin.openapi_ops import (
    DELETED,
    NOT_FOUND,
    PAGING,
    TEXT,
    answer,
    op,
    path_param,
    query,
)


def paths() -> dict[str, Any]:
    """Every path with its operations."""
    return {
        **_clients(),
        **_users(),
        **_roles(),
        **config.providers(),
        **config.keys(),
        **config.audit(),
        **config.scopes(),
    }


def _clients() -> dict[str, Any]:
    cid = [path_param("client_id")]
    return {
        "/admin/clients": {
            "get": op(
                "listClients",
                "clients",
                "List clients",
                {"200": answer(s.Page[s.ClientOut])},
                params=[*PAGING, query("q", TEXT, "id or name contains (case-insensitive)")],
            ),
            "post": op(
                "createClient",
                "clients",
                "Register a client (its secret is shown once)",
                {
                    "201": answer(s.ClientCreated, "Created"),
                    "409": answer(s.Error, "Duplicate client_id"),
                },
                body=s.ClientCreate,
            ),
        },
        "/admin/clients/{client_id}": {
            "parameters": cid,
            "get": op(
                "getClient", "clients", "Read a client", {"200": answer(s.ClientOut), **NOT_FOUND}
            ),
            "patch": op(
                "updateClient",
                "clients",
                "Change a client (only the fields sent)",
                {"200": answer(s.ClientOut), **NOT_FOUND},
                body=s.ClientUpdate,
            ),
            "delete": op(
                "deleteClient",
                "clients",
                "Delete a client with its tokens",
                {**DELETED, **NOT_FOUND},
            ),
        },
        "/admin/clients/{client_id}/secret": {
            "parameters": cid,
            "post": op(
                "rotateClientSecret",
                "clients",
                "Rotate the client secret (shown once)",
                {"200": answer(s.SecretOut), **NOT_FOUND},
            ),
        },
    }


def _users() -> dict[str, Any]:
    uid = [path_param("user_id")]
    return {
        "/admin/users": {
            "get": op(
                "listUsers",
                "users",
                "List users",
                {"200": answer(s.Page[s.UserOut])},
                params=[
                    *PAGING,
                    query("email", TEXT, "exact e-mail"),
                    query("q", TEXT, "e-mail or id contains (case-insensitive)"),
                ],
            ),
            "post": op(
                "createUser",
                "users",
                "Create a user",
                {
                    "201": answer(s.UserOut, "Created"),
                    "409": answer(s.Error, "The e-mail address is taken"),
                },
                body=s.UserCreate,
            ),
        },
        "/admin/users/{user_id}": {
            "parameters": uid,
            "get": op("getUser", "users", "Read a user", {"200": answer(s.UserOut), **NOT_FOUND}),
            "patch": op(
                "updateUser",
                "users",
                "Set roles, disable or enable (a change of roles or "
                "disabling ends every session and token of the user)",
                {"200": answer(s.UserOut), **NOT_FOUND},
                body=s.UserUpdate,
            ),
            "delete": op(
                "deleteUser",
                "users",
                "Delete a user with their sessions, tokens and consents",
                {
                    **DELETED,
                    **NOT_FOUND,
                    "409": answer(s.Error, "An administrator cannot delete their own account"),
                },
            ),
        },
        "/admin/users/{user_id}/password": {
            "parameters": uid,
            "post": op(
                "resetUserPassword",
                "users",
                "Set the user's password, or (empty object) "
                "e-mail them a reset link; a new password ends every session and token",
                {"200": answer(s.PasswordResetOut), **NOT_FOUND},
                body=s.PasswordReset,
            ),
        },
        "/admin/users/{user_id}/sessions/end": {
            "parameters": uid,
            "post": op(
                "endUserSessions",
                "users",
                "End every session of the user and revoke their tokens",
                {"200": answer(s.SessionsEnded), **NOT_FOUND},
            ),
        },
        "/admin/users/{user_id}/mfa": {
            "parameters": uid,
            "get": op(
                "getUserMfa",
                "users",
                "The user's second factors and unused recovery codes (no secrets)",
                {"200": answer(s.MfaOut), **NOT_FOUND},
            ),
        },
        "/admin/users/{user_id}/mfa/reset": {
            "parameters": uid,
            "post": op(
                "resetUserMfa",
                "users",
                "Remove every second factor and recovery code of the user (a lost phone); "
                "ends their sessions and tokens",
                {"200": answer(s.MfaReset), **NOT_FOUND},
            ),
        },
        "/admin/users/{user_id}/identities": {
            "parameters": uid,
            "get": op(
                "listUserIdentities",
                "users",
                "The upstream identities linked to the user",
                {"200": answer(s.Page[s.IdentityOut]), **NOT_FOUND},
            ),
        },
        "/admin/users/{user_id}/identities/{identity_id}": {
            "parameters": [*uid, path_param("identity_id")],
            "delete": op(
                "unlinkUserIdentity",
                "users",
                "Unlink an upstream identity (its sessions and refresh tokens end)",
                {**DELETED, **NOT_FOUND},
            ),
        },
    }


def _roles() -> dict[str, Any]:
    return {
        "/admin/roles": {
            "get": op(
                "listRoles", "roles", "List the defined roles", {"200": answer(s.Page[s.RoleOut])}
            ),
            "post": op(
                "createRole",
                "roles",
                "Define a role",
                {"201": answer(s.RoleOut, "Created"), "409": answer(s.Error, "Duplicate name")},
                body=s.RoleCreate,
            ),
        },
        "/admin/roles/{name}": {
            "parameters": [path_param("name")],
            "delete": op(
                "deleteRole",
                "roles",
                "Delete a role nobody holds (built-in roles stay)",
                {**DELETED, **NOT_FOUND, "409": answer(s.Error, "Still held by users")},
            ),
        },
    }
