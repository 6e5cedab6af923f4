"""The OpenAPI 3.1 description of the admin API, served at /admin/openapi.json.
Schemas come from the same pydantic models that validate the requests; examples from
``admin.examples`` (validated against those models by the tests). Every operation has an
``operationId`` and a tag, so generated clients get stable method names."""

from __future__ import annotations

from typing import Any

from pydantic.json_schema import models_json_schema
from starlette.requests import Request
from starlette.responses import JSONResponse

from authserver.admin import schemas as s
from authserver.admin.examples import EXAMPLES, page

MODELS = [
    s.ClientCreate,
    s.ClientUpdate,
    s.ClientOut,
    s.ClientCreated,
    s.SecretOut,
    s.UserOut,
    s.UserUpdate,
    s.UserCreate,
    s.PasswordReset,
    s.PasswordResetOut,
    s.SessionsEnded,
    s.MfaOut,
    s.MfaReset,
    s.RoleOut,
    s.RoleCreate,
    s.Page[s.RoleOut],
    s.KeyOut,
    s.KeyRotate,
    s.AuditEventOut,
    s.Error,
    s.Page[s.ClientOut],
    s.Page[s.UserOut],
    s.KeyRotationOut,
    s.KeyPage,
    s.Page[s.AuditEventOut],
    s.ScopeDescriptionIn,
    s.ScopeDescriptionOut,
    s.Page[s.ScopeDescriptionOut],
    s.ProviderCreate,
    s.ProviderUpdate,
    s.ProviderOut,
    s.Page[s.ProviderOut],
    s.IdentityOut,
    s.Page[s.IdentityOut],
]


def _ref(model: type) -> dict[str, str]:
    name = model.__name__.replace("[", "_").replace("]", "_").replace(".", "_")
    return {"$ref": f"#/components/schemas/{name}"}


def _example(model: Any) -> Any:
    item = getattr(model, "__pydantic_generic_metadata__", {}).get("args") or ()
    return page(item[0]) if item else EXAMPLES[model]


def _media(model: type) -> dict[str, Any]:
    return {"application/json": {"schema": _ref(model), "example": _example(model)}}


def _json(model: type, description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": _media(model)}


ERRORS = {
    "400": _json(s.Error, "Invalid request (sent only to an authenticated administrator)"),
    "401": _json(s.Error, "No valid access token (checked before anything else)"),
    "403": _json(s.Error, "The token lacks the admin scope or its user is not an admin"),
}
TAGS = [
    {"name": "clients", "description": "OAuth clients: registration, secrets"},
    {"name": "users", "description": "Accounts: roles, disabling, passwords, sessions"},
    {"name": "roles", "description": "The role names users can hold"},
    {"name": "providers", "description": "Upstream identity providers users sign in with"},
    {"name": "keys", "description": "Signing keys"},
    {"name": "audit", "description": "The audit log"},
    {"name": "scopes", "description": "What the consent page says about each scope"},
]


def _op(
    op_id: str,
    tag: str,
    summary: str,
    responses: dict[str, Any],
    body: type | None = None,
    params: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": op_id,
        "tags": [tag],
        "summary": summary,
        "responses": {**responses, **ERRORS},
        "security": [{"bearer": ["admin"]}],
    }
    if body is not None:
        op["responses"]["415"] = _json(s.Error, "The body is not application/json")
        op["requestBody"] = {"required": True, "content": _media(body)}
    if params:
        op["parameters"] = params
    return op


def _q(name: str, schema: dict[str, Any], description: str = "") -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


# Text in a URL: no control characters (authserver.text, refused by web.url_guard).
TEXT = {"type": "string", "pattern": "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f]*$"}


def _path(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": TEXT}


PAGING = [
    _q("offset", {"type": "integer", "minimum": 0, "maximum": 10_000_000}),
    _q("limit", {"type": "integer", "minimum": 1, "maximum": 1000}),
]
NOT_FOUND = {"404": _json(s.Error, "No such item")}
DELETED = {"204": {"description": "Deleted"}}


def _paths() -> dict[str, Any]:
    cid, uid = [_path("client_id")], [_path("user_id")]
    return {
        "/admin/clients": {
            "get": _op(
                "listClients",
                "clients",
                "List clients",
                {"200": _json(s.Page[s.ClientOut])},
                params=[*PAGING, _q("q", TEXT, "id or name contains (case-insensitive)")],
            ),
            "post": _op(
                "createClient",
                "clients",
                "Register a client (its secret is shown once)",
                {
                    "201": _json(s.ClientCreated, "Created"),
                    "409": _json(s.Error, "Duplicate client_id"),
                },
                body=s.ClientCreate,
            ),
        },
        "/admin/clients/{client_id}": {
            "parameters": cid,
            "get": _op(
                "getClient", "clients", "Read a client", {"200": _json(s.ClientOut), **NOT_FOUND}
            ),
            "patch": _op(
                "updateClient",
                "clients",
                "Change a client (only the fields sent)",
                {"200": _json(s.ClientOut), **NOT_FOUND},
                body=s.ClientUpdate,
            ),
            "delete": _op(
                "deleteClient",
                "clients",
                "Delete a client with its tokens",
                {**DELETED, **NOT_FOUND},
            ),
        },
        "/admin/clients/{client_id}/secret": {
            "parameters": cid,
            "post": _op(
                "rotateClientSecret",
                "clients",
                "Rotate the client secret (shown once)",
                {"200": _json(s.SecretOut), **NOT_FOUND},
            ),
        },
        "/admin/users": {
            "get": _op(
                "listUsers",
                "users",
                "List users",
                {"200": _json(s.Page[s.UserOut])},
                params=[
                    *PAGING,
                    _q("email", TEXT, "exact e-mail"),
                    _q("q", TEXT, "e-mail or id contains (case-insensitive)"),
                ],
            ),
            "post": _op(
                "createUser",
                "users",
                "Create a user",
                {
                    "201": _json(s.UserOut, "Created"),
                    "409": _json(s.Error, "The e-mail address is taken"),
                },
                body=s.UserCreate,
            ),
        },
        "/admin/users/{user_id}": {
            "parameters": uid,
            "get": _op("getUser", "users", "Read a user", {"200": _json(s.UserOut), **NOT_FOUND}),
            "patch": _op(
                "updateUser",
                "users",
                "Set roles, disable or enable (a change of roles or "
                "disabling ends every session and token of the user)",
                {"200": _json(s.UserOut), **NOT_FOUND},
                body=s.UserUpdate,
            ),
            "delete": _op(
                "deleteUser",
                "users",
                "Delete a user with their sessions, tokens and consents",
                {
                    **DELETED,
                    **NOT_FOUND,
                    "409": _json(s.Error, "An administrator cannot delete their own account"),
                },
            ),
        },
        "/admin/users/{user_id}/password": {
            "parameters": uid,
            "post": _op(
                "resetUserPassword",
                "users",
                "Set the user's password, or (empty object) "
                "e-mail them a reset link; a new password ends every session and token",
                {"200": _json(s.PasswordResetOut), **NOT_FOUND},
                body=s.PasswordReset,
            ),
        },
        "/admin/users/{user_id}/sessions/end": {
            "parameters": uid,
            "post": _op(
                "endUserSessions",
                "users",
                "End every session of the user and revoke their tokens",
                {"200": _json(s.SessionsEnded), **NOT_FOUND},
            ),
        },
        "/admin/users/{user_id}/mfa": {
            "parameters": uid,
            "get": _op(
                "getUserMfa",
                "users",
                "The user's second factors and unused recovery codes (no secrets)",
                {"200": _json(s.MfaOut), **NOT_FOUND},
            ),
        },
        "/admin/users/{user_id}/mfa/reset": {
            "parameters": uid,
            "post": _op(
                "resetUserMfa",
                "users",
                "Remove every second factor and recovery code of the user (a lost phone); "
                "ends their sessions and tokens",
                {"200": _json(s.MfaReset), **NOT_FOUND},
            ),
        },
        "/admin/users/{user_id}/identities": {
            "parameters": uid,
            "get": _op(
                "listUserIdentities",
                "users",
                "The upstream identities linked to the user",
                {"200": _json(s.Page[s.IdentityOut]), **NOT_FOUND},
            ),
        },
        "/admin/users/{user_id}/identities/{identity_id}": {
            "parameters": [*uid, _path("identity_id")],
            "delete": _op(
                "unlinkUserIdentity",
                "users",
                "Unlink an upstream identity (its sessions and refresh tokens end)",
                {**DELETED, **NOT_FOUND},
            ),
        },
        "/admin/roles": {
            "get": _op(
                "listRoles", "roles", "List the defined roles", {"200": _json(s.Page[s.RoleOut])}
            ),
            "post": _op(
                "createRole",
                "roles",
                "Define a role",
                {"201": _json(s.RoleOut, "Created"), "409": _json(s.Error, "Duplicate name")},
                body=s.RoleCreate,
            ),
        },
        "/admin/roles/{name}": {
            "parameters": [_path("name")],
            "delete": _op(
                "deleteRole",
                "roles",
                "Delete a role nobody holds (built-in roles stay)",
                {**DELETED, **NOT_FOUND, "409": _json(s.Error, "Still held by users")},
            ),
        },
        "/admin/providers": {
            "get": _op(
                "listProviders",
                "providers",
                "List upstream identity providers",
                {"200": _json(s.Page[s.ProviderOut])},
            ),
            "post": _op(
                "createProvider",
                "providers",
                "Add an upstream identity provider (its client secret is stored encrypted "
                "and never returned)",
                {
                    "201": _json(s.ProviderOut, "Created"),
                    "409": _json(s.Error, "Duplicate id, or a domain bound to another provider"),
                },
                body=s.ProviderCreate,
            ),
        },
        "/admin/providers/{provider_id}": {
            "parameters": [_path("provider_id")],
            "get": _op(
                "getProvider",
                "providers",
                "Read a provider",
                {"200": _json(s.ProviderOut), **NOT_FOUND},
            ),
            "patch": _op(
                "updateProvider",
                "providers",
                "Change a provider (only the fields sent); disabling it ends the sessions "
                "of its logins",
                {
                    "200": _json(s.ProviderOut),
                    **NOT_FOUND,
                    "409": _json(s.Error, "A domain is bound to another provider"),
                },
                body=s.ProviderUpdate,
            ),
            "delete": _op(
                "deleteProvider",
                "providers",
                "Remove a provider and the identities linked through it (the users stay)",
                {**DELETED, **NOT_FOUND},
            ),
        },
        "/admin/keys": {
            "get": _op("listKeys", "keys", "List signing keys", {"200": _json(s.KeyPage)})
        },
        "/admin/keys/rotate": {
            "post": _op(
                "rotateKey",
                "keys",
                "Publish a new signing key (it signs after the publish-ahead time, or at once)",
                {"201": _json(s.KeyPage, "Rotated")},
                body=s.KeyRotate,
            ),
        },
        "/admin/audit": {
            "get": _op(
                "queryAudit",
                "audit",
                "Query the audit log (newest first)",
                {"200": _json(s.Page[s.AuditEventOut])},
                params=[
                    _q("user_id", TEXT),
                    _q("client_id", TEXT),
                    _q("event", TEXT),
                    _q("since", {"type": "string", "format": "date-time"}),
                    _q("until", {"type": "string", "format": "date-time"}),
                    _q("limit", {"type": "integer", "minimum": 1, "maximum": 1000}),
                    _q("before_id", {"type": "integer", "minimum": 1, "maximum": 2**62}),
                ],
            ),
        },
        "/admin/scopes": {
            "get": _op(
                "listScopeDescriptions",
                "scopes",
                "The scopes described for the consent page",
                {"200": _json(s.Page[s.ScopeDescriptionOut])},
            ),
        },
        "/admin/scopes/{scope}": {
            "parameters": [_path("scope")],
            "get": _op(
                "getScopeDescription",
                "scopes",
                "Read the texts of a scope",
                {"200": _json(s.ScopeDescriptionOut), **NOT_FOUND},
            ),
            "put": _op(
                "putScopeDescription",
                "scopes",
                "Set the consent page's texts of a scope (plain text, per language)",
                # 404: a path no route takes (a scope name with a control character).
                {"200": _json(s.ScopeDescriptionOut), **NOT_FOUND},
                body=s.ScopeDescriptionIn,
            ),
            "delete": _op(
                "deleteScopeDescription",
                "scopes",
                "Remove the texts of a scope",
                {**DELETED, **NOT_FOUND},
            ),
        },
    }


def build() -> dict[str, Any]:
    _, defs = models_json_schema(
        [(m, "serialization") for m in MODELS], ref_template="#/components/schemas/{model}"
    )
    components = {
        k.replace("[", "_").replace("]", "_").replace(".", "_"): v for k, v in defs["$defs"].items()
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "authserver admin API",
            "version": "1",
            "description": "For access tokens with the `admin` scope of a user who holds the "
            "`admin` role now (re-read on every request). `authserver admin bootstrap` "
            "creates the first administrator and a client to get such a token with the "
            "password grant at `/token`. Every change is written to the audit log.",
        },
        "tags": TAGS,
        "paths": _paths(),
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
        },
    }


async def openapi(request: Request) -> JSONResponse:
    return JSONResponse(build(), headers={"Cache-Control": "public, max-age=300"})
