"""The route table: every path the server answers, one line each."""

from __future__ import annotations

from starlette.routing import Mount, Route, Router

from authserver import ops
from authserver.admin import routes as admin_routes
from authserver.console import dashboard as console_dashboard
from authserver.console import routes as console_routes
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
from authserver.pages import (
    account,
    account_email,
    account_mfa,
    account_self,
    branding,
    federation,
    home,
    login,
    password,
    register,
    saml,
    second_factor,
    verify_email,
    webauthn,
)
from authserver.web import cors, static
from authserver.web.dispatch import route

routes = [
    Route("/", home.show, methods=["GET"]),
    Route("/.well-known/openid-configuration", discovery.openid_configuration, methods=["GET"]),
    Route(
        "/.well-known/oauth-authorization-server",
        discovery.oauth_authorization_server,
        methods=["GET"],
    ),
    route("/token", POST=token.token, OPTIONS=cors.preflight),
    route("/revoke", POST=revocation.revoke, OPTIONS=cors.preflight),
    Route("/introspect", introspection.introspect, methods=["POST"]),
    Route("/oauth/register", registration.register, methods=["POST"]),
    Route("/oauth/register/{client_id}", registration.manage, methods=["GET", "PUT", "DELETE"]),
    Route("/authorize", authorize.authorize_endpoint, methods=["GET", "POST"]),
    Route("/consent", authorize.consent_submit, methods=["POST"]),
    route("/userinfo", GET=userinfo.userinfo, POST=userinfo.userinfo, OPTIONS=cors.preflight),
    Route("/logout", logout.logout, methods=["GET", "POST"]),
    route("/login", GET=login.show, POST=login.submit),
    Route("/login/webauthn/options", webauthn.sign_in_options_endpoint, methods=["POST"]),
    Route("/login/webauthn", webauthn.sign_in_endpoint, methods=["POST"]),
    route("/login/second-factor", GET=second_factor.show, POST=second_factor.submit),
    Route("/federation/{provider_id}/start", federation.start, methods=["POST"]),
    Route("/federation/{provider_id}/callback", federation.callback, methods=["GET"]),
    route("/federation/link", GET=federation.link_page, POST=federation.link_submit),
    route("/federation/saml/{provider_id}/metadata", GET=saml.metadata),
    Route("/federation/saml/{provider_id}/acs", saml.acs, methods=["POST"]),
    route("/register", GET=register.show, POST=register.submit),
    route("/password/forgot", GET=password.forgot, POST=password.forgot_submit),
    route("/password/reset", GET=password.reset_form, POST=password.reset_submit),
    route("/email/verify", GET=verify_email.show, POST=verify_email.confirm),
    Route("/email/verify/resend", verify_email.resend, methods=["POST"]),
    Route("/password/reset/accept", password.reset_accept, methods=["POST"]),
    Route("/account", account.show, methods=["GET"]),
    Route("/account/password", account.change_password, methods=["POST"]),
    Route("/account/email", account_email.change_email, methods=["POST"]),
    Route("/account/profile", account_self.change_name, methods=["POST"]),
    Route("/account/apps/remove", account_self.remove_app, methods=["POST"]),
    route("/account/delete", GET=account_self.confirm_page, POST=account_self.delete),
    Route("/account/sessions/end", account.end_session, methods=["POST"]),
    Route("/account/logout-all", account.logout_all, methods=["POST"]),
    Route("/account/mfa/setup", account_mfa.setup, methods=["GET"]),
    route("/account/mfa/totp", GET=account_mfa.show_totp, POST=account_mfa.begin_totp),
    Route("/account/mfa/totp/confirm", account_mfa.confirm_totp, methods=["POST"]),
    Route("/account/mfa/totp/remove", account_mfa.remove_totp, methods=["POST"]),
    Route("/account/mfa/webauthn/options", webauthn.register_options_endpoint, methods=["POST"]),
    Route("/account/mfa/webauthn", webauthn.register_endpoint, methods=["POST"]),
    Route("/account/mfa/webauthn/remove", account_mfa.remove_webauthn, methods=["POST"]),
    Route("/account/mfa/recovery-codes", account_mfa.new_recovery_codes, methods=["POST"]),
    Route("/account/identities/unlink", account.unlink_identity, methods=["POST"]),
    Route("/logout-all", logout_api.logout_all, methods=["POST"]),
    Route("/healthz", ops.healthz, methods=["GET"]),
    Route("/readyz", ops.readyz, methods=["GET"]),
    Route("/metrics", ops.metrics, methods=["GET"]),
    # No slash redirects (see app.create_app): their Location comes from the Host header.
    Mount("/admin", app=Router(admin_routes.routes, redirect_slashes=False)),
    route("/console", GET=console_dashboard.show),
    Mount("/console", app=Router(console_routes.routes, redirect_slashes=False)),
    Route("/brand.css", branding.stylesheet, methods=["GET"]),
    Mount("/static", app=static.static, name="static"),
]
