"""One route per path, with a handler per method: so a 405 names every method the path
supports in `Allow` (separate Starlette routes for one path each answer only their own)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

Handler = Callable[[Request], Awaitable[Response]]


def route(path: str, **handlers: Handler) -> Route:
    """``route("/x", GET=show, POST=submit)``."""
    table = {method.upper(): handler for method, handler in handlers.items()}

    async def endpoint(request: Request) -> Response:
        handler = table["GET" if request.method == "HEAD" else request.method]
        request.scope["endpoint"] = handler  # metrics and logs name the real handler
        return await handler(request)

    name = "_".join(h.__name__ for h in table.values())
    endpoint.__name__ = name
    endpoint.__module__ = next(iter(table.values())).__module__
    return Route(path, endpoint, methods=list(table), name=name)
