"""The parts the admin API's OpenAPI description is made of: references to the pydantic
models' schemas with their examples, one operation with the errors every operation can
answer, query and path parameters."""

from __future__ import annotations

from typing import Any

from authserver.admin import schemas as s
from authserver.admin.examples import EXAMPLES, page


def ref(model: type) -> dict[str, str]:
    name = model.__name__.replace("[", "_").replace("]", "_").replace(".", "_")
    return {"$ref": f"#/components/schemas/{name}"}


def example(model: Any) -> Any:
    item = getattr(model, "__pydantic_generic_metadata__", {}).get("args") or ()
    return page(item[0]) if item else EXAMPLES[model]


def media(model: type) -> dict[str, Any]:
    return {"application/json": {"schema": ref(model), "example": example(model)}}


def answer(model: type, description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": media(model)}


ERRORS = {
    "400": answer(s.Error, "Invalid request (sent only to an authenticated administrator)"),
    "401": answer(s.Error, "No valid access token (checked before anything else)"),
    "403": answer(s.Error, "The token lacks the admin scope or its user is not an admin"),
}


def op(
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
        op["responses"]["415"] = answer(s.Error, "The body is not application/json")
        op["responses"]["413"] = answer(s.Error, "The body is larger than MAX_BODY_BYTES")
        op["requestBody"] = {"required": True, "content": media(body)}
    if params:
        op["parameters"] = params
    return op


def query(name: str, schema: dict[str, Any], description: str = "") -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


# Text in a URL: no control characters (authserver.text, refused by web.url_guard).
TEXT = {"type": "string", "pattern": "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f]*$"}


def path_param(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": TEXT}


PAGING = [
    query("offset", {"type": "integer", "minimum": 0, "maximum": 10_000_000}),
    query("limit", {"type": "integer", "minimum": 1, "maximum": 1000}),
]
NOT_FOUND = {"404": answer(s.Error, "No such item")}
DELETED = {"204": {"description": "Deleted"}}
