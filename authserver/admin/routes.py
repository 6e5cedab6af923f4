"""The admin API's routes, mounted under /admin."""

from __future__ import annotations

from starlette.routing import Route

from authserver.admin import audit_log, clients, keys, openapi, users

routes = [
    Route("/openapi.json", openapi.openapi, methods=["GET"]),
    Route("/clients", clients.list_clients, methods=["GET"]),
    Route("/clients", clients.create_client, methods=["POST"]),
    Route("/clients/{client_id}", clients.get_client, methods=["GET"]),
    Route("/clients/{client_id}", clients.update_client, methods=["PATCH"]),
    Route("/clients/{client_id}", clients.delete_client, methods=["DELETE"]),
    Route("/clients/{client_id}/secret", clients.rotate_secret, methods=["POST"]),
    Route("/users", users.list_users, methods=["GET"]),
    Route("/users/{user_id}", users.get_user, methods=["GET"]),
    Route("/users/{user_id}", users.update_user, methods=["PATCH"]),
    Route("/users/{user_id}/sessions/end", users.end_sessions, methods=["POST"]),
    Route("/keys", keys.list_keys, methods=["GET"]),
    Route("/keys/rotate", keys.rotate, methods=["POST"]),
    Route("/audit", audit_log.query, methods=["GET"]),
]
