"""The route table: every path the server answers, one line each."""

from __future__ import annotations

from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from authserver import ops
from authserver.admin import routes as admin_routes
from authserver.endpoints import (
    authorize,
    discovery,
    introspection,
    logout,
    logout_api,
    registration,
    revocation,
    token,
    userinfo,
)
from authserver.pages import account, login, password, register
from authserver.web import cors
from authserver.web.templating import STATIC

routes = [
    Route("/.well-known/openid-configuration", discovery.openid_configuration, methods=["GET"]),
    Route(
        "/.well-known/oauth-authorization-server",
        discovery.oauth_authorization_server,
        methods=["GET"],
    ),
    Route("/token", token.token, methods=["POST"]),
    Route("/token", cors.preflight, methods=["OPTIONS"]),
    Route("/revoke", revocation.revoke, methods=["POST"]),
    Route("/revoke", cors.preflight, methods=["OPTIONS"]),
    Route("/introspect", introspection.introspect, methods=["POST"]),
    Route("/oauth/register", registration.register, methods=["POST"]),
    Route("/oauth/register/{client_id}", registration.manage, methods=["GET", "PUT", "DELETE"]),
    Route("/authorize", authorize.authorize_endpoint, methods=["GET", "POST"]),
    Route("/consent", authorize.consent_submit, methods=["POST"]),
    Route("/userinfo", userinfo.userinfo, methods=["GET", "POST"]),
    Route("/userinfo", cors.preflight, methods=["OPTIONS"]),
    Route("/logout", logout.logout, methods=["GET", "POST"]),
    Route("/login", login.show, methods=["GET"]),
    Route("/login", login.submit, methods=["POST"]),
    Route("/register", register.show, methods=["GET"]),
    Route("/register", register.submit, methods=["POST"]),
    Route("/password/forgot", password.forgot, methods=["GET"]),
    Route("/password/forgot", password.forgot_submit, methods=["POST"]),
    Route("/password/reset", password.reset_form, methods=["GET"]),
    Route("/password/reset", password.reset_submit, methods=["POST"]),
    Route("/account", account.show, methods=["GET"]),
    Route("/account/password", account.change_password, methods=["POST"]),
    Route("/account/sessions/end", account.end_session, methods=["POST"]),
    Route("/account/logout-all", account.logout_all, methods=["POST"]),
    Route("/logout-all", logout_api.logout_all, methods=["POST"]),
    Route("/healthz", ops.healthz, methods=["GET"]),
    Route("/readyz", ops.readyz, methods=["GET"]),
    Route("/metrics", ops.metrics, methods=["GET"]),
    Mount("/admin", routes=admin_routes.routes),
    Mount("/static", StaticFiles(directory=STATIC), name="static"),
]
