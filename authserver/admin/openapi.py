"""The OpenAPI 3.1 description of the admin API, served at /admin/openapi.json.
Schemas come from the same pydantic models that validate the requests; examples from
``admin.examples`` (validated against those models by the tests). Every operation has an
``operationId`` and a tag, so generated clients get stable method names. The paths are
``openapi_paths`` and ``openapi_config_paths``, made of ``openapi_ops``' parts."""

from __future__ import annotations

from typing import Any

from pydantic.json_schema import models_json_schema
from starlette.requests import Request
from starlette.responses import JSONResponse

from authserver.admin import schemas as s
from authserver.admin.openapi_paths import paths

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


TAGS = [
    {"name": "clients", "description": "OAuth clients: registration, secrets"},
    {"name": "users", "description": "Accounts: roles, disabling, passwords, sessions"},
    {"name": "roles", "description": "The role names users can hold"},
    {"name": "providers", "description": "Upstream identity providers users sign in with"},
    {"name": "keys", "description": "Signing keys"},
    {"name": "audit", "description": "The audit log"},
    {"name": "scopes", "description": "What the consent page says about each scope"},
]


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
        "paths": paths(),
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
        },
    }


async def openapi(request: Request) -> JSONResponse:
    return JSONResponse(build(), headers={"Cache-Control": "public, max-age=300"})
