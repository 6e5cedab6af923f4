"""The admin API's routes, mounted under /admin."""

from __future__ import annotations

from starlette.routing import Route

from authserver.admin import audit_log, clients, keys, openapi, providers, roles, scopes, users
from authserver.web.dispatch import route

routes = [
    Route("/openapi.json", openapi.openapi, methods=["GET"]),
    route("/clients", GET=clients.list_clients, POST=clients.create_client),
    route(
        "/clients/{client_id}",
        GET=clients.get_client,
        PATCH=clients.update_client,
        DELETE=clients.delete_client,
    ),
    Route("/clients/{client_id}/secret", clients.rotate_secret, methods=["POST"]),
    route("/users", GET=users.list_users, POST=users.create_user),
    route(
        "/users/{user_id}", GET=users.get_user, PATCH=users.update_user, DELETE=users.delete_user
    ),
    Route("/users/{user_id}/password", users.reset_password, methods=["POST"]),
    Route("/users/{user_id}/sessions/end", users.end_sessions, methods=["POST"]),
    Route("/users/{user_id}/mfa", users.get_mfa, methods=["GET"]),
    Route("/users/{user_id}/mfa/reset", users.reset_mfa, methods=["POST"]),
    Route("/users/{user_id}/identities", providers.list_identities, methods=["GET"]),
    Route(
        "/users/{user_id}/identities/{identity_id}",
        providers.unlink_identity,
        methods=["DELETE"],
    ),
    route("/roles", GET=roles.list_roles, POST=roles.create_role),
    route("/roles/{name}", DELETE=roles.delete_role),
    route("/providers", GET=providers.list_providers, POST=providers.create_provider),
    route(
        "/providers/{provider_id}",
        GET=providers.get_provider,
        PATCH=providers.update_provider,
        DELETE=providers.delete_provider,
    ),
    Route("/keys", keys.list_keys, methods=["GET"]),
    Route("/keys/rotate", keys.rotate, methods=["POST"]),
    Route("/audit", audit_log.query, methods=["GET"]),
    Route("/scopes", scopes.list_scopes, methods=["GET"]),
    route(
        "/scopes/{scope}", GET=scopes.get_scope, PUT=scopes.put_scope, DELETE=scopes.delete_scope
    ),
]
