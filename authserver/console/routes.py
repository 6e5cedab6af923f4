"""The console's routes, mounted under /console. Client ids travel as a query parameter
or form field (`?id=`): they may hold any printable character, `/` included."""

from __future__ import annotations

from authserver.console import (
    audit_log,
    clients,
    dashboard,
    keys,
    preview,
    provider_test,
    providers,
    users,
)
from authserver.web.dispatch import route

routes = [
    route("/", GET=dashboard.show),
    route("/clients", GET=clients.list_clients),
    route("/clients/new", GET=clients.new_client, POST=clients.create_client),
    route("/client", GET=clients.show_client),
    route("/client/update", POST=clients.update_client),
    route("/client/rotate", POST=clients.rotate_secret),
    route("/client/delete", GET=clients.confirm_delete, POST=clients.delete_client),
    route("/users", GET=users.list_users),
    route("/users/{user_id}", GET=users.show_user),
    route("/users/{user_id}/roles", POST=users.set_roles),
    route("/users/{user_id}/disabled", POST=users.set_disabled),
    route("/users/{user_id}/sessions/end", POST=users.end_sessions),
    route(
        "/users/{user_id}/identities/unlink",
        GET=users.confirm_unlink,
        POST=users.unlink_identity,
    ),
    route("/users/{user_id}/mfa/reset", GET=users.confirm_mfa_reset, POST=users.reset_mfa),
    route("/keys", GET=keys.show),
    route("/keys/rotate", POST=keys.rotate),
    route("/keys/retire", POST=keys.retire),
    route("/audit", GET=audit_log.show),
    route("/audit/export", GET=audit_log.export),
    route("/preview", GET=preview.show),
    route("/providers", GET=providers.list_providers),
    route("/providers/new", GET=providers.new_provider, POST=providers.create_provider),
    route("/providers/{provider_id}", GET=providers.show_provider, POST=providers.update_provider),
    route("/providers/{provider_id}/test", GET=provider_test.show, POST=provider_test.start),
    route(
        "/providers/{provider_id}/delete",
        GET=providers.confirm_delete,
        POST=providers.delete_provider,
    ),
]
