"""The paths of the admin API's OpenAPI description for the server's own configuration:
identity providers, signing keys, the audit log, scope texts (``openapi_paths`` has the
clients, users and roles)."""

from __future__ import annotations

from typing import Any

from authserver.admin import schemas as s
from authserver.admin.openapi_ops import (
    DELETED,
    NOT_FOUND,
    TEXT,
    answer,
    op,
    path_param,
    query,
)


def providers() -> dict[str, Any]:
    return {
        "/admin/providers": {
            "get": op(
                "listProviders",
                "providers",
                "List upstream identity providers",
                {"200": answer(s.Page[s.ProviderOut])},
            ),
            "post": op(
                "createProvider",
                "providers",
                "Add an upstream identity provider (its client secret is stored encrypted "
                "and never returned)",
                {
                    "201": answer(s.ProviderOut, "Created"),
                    "409": answer(s.Error, "Duplicate id, or a domain bound to another provider"),
                },
                body=s.ProviderCreate,
            ),
        },
        "/admin/providers/{provider_id}": {
            "parameters": [path_param("provider_id")],
            "get": op(
                "getProvider",
                "providers",
                "Read a provider",
                {"200": answer(s.ProviderOut), **NOT_FOUND},
            ),
            "patch": op(
                "updateProvider",
                "providers",
                "Change a provider (only the fields sent); disabling it ends the sessions "
                "of its logins",
                {
                    "200": answer(s.ProviderOut),
                    **NOT_FOUND,
                    "409": answer(s.Error, "A domain is bound to another provider"),
                },
                body=s.ProviderUpdate,
            ),
            "delete": op(
                "deleteProvider",
                "providers",
                "Remove a provider and the identities linked through it (the users stay)",
                {**DELETED, **NOT_FOUND},
            ),
        },
    }


def keys() -> dict[str, Any]:
    return {
        "/admin/keys": {
            "get": op("listKeys", "keys", "List signing keys", {"200": answer(s.KeyPage)})
        },
        "/admin/keys/rotate": {
            "post": op(
                "rotateKey",
                "keys",
                "Publish a new signing key (it signs after the publish-ahead time, or at once)",
                {"201": answer(s.KeyPage, "Rotated")},
                body=s.KeyRotate,
            ),
        },
    }


def audit() -> dict[str, Any]:
    return {
        "/admin/audit": {
            "get": op(
                "queryAudit",
                "audit",
                "Query the audit log (newest first)",
                {"200": answer(s.Page[s.AuditEventOut])},
                params=[
                    query("user_id", TEXT),
                    query("client_id", TEXT),
                    query("event", TEXT),
                    query("since", {"type": "string", "format": "date-time"}),
                    query("until", {"type": "string", "format": "date-time"}),
                    query("limit", {"type": "integer", "minimum": 1, "maximum": 1000}),
                    query("before_id", {"type": "integer", "minimum": 1, "maximum": 2**62}),
                ],
            ),
        },
    }


def scopes() -> dict[str, Any]:
    return {
        "/admin/scopes": {
            "get": op(
                "listScopeDescriptions",
                "scopes",
                "The scopes described for the consent page",
                {"200": answer(s.Page[s.ScopeDescriptionOut])},
            ),
        },
        "/admin/scopes/{scope}": {
            "parameters": [path_param("scope")],
            "get": op(
                "getScopeDescription",
                "scopes",
                "Read the texts of a scope",
                {"200": answer(s.ScopeDescriptionOut), **NOT_FOUND},
            ),
            "put": op(
                "putScopeDescription",
                "scopes",
                "Set the consent page's texts of a scope (plain text, per language)",
                # 404: a path no route takes (a scope name with a control character).
                {"200": answer(s.ScopeDescriptionOut), **NOT_FOUND},
                body=s.ScopeDescriptionIn,
            ),
            "delete": op(
                "deleteScopeDescription",
                "scopes",
                "Remove the texts of a scope",
                {**DELETED, **NOT_FOUND},
            ),
        },
    }
