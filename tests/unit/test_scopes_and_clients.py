"""Scope rules and client registration validation."""

from __future__ import annotations

import pytest
from authlib.oauth2.rfc6749 import InvalidScopeError

from authserver.oauth.client import OAuthClient
from authserver.oauth.client_registry import ClientSpec, redirect_uri_problem, spec_problems
from authserver.oauth.scopes import check_client_scope
from authserver.storage.client_cache import ClientRecord


def client(scope: str) -> OAuthClient:
    return OAuthClient(
        ClientRecord(
            client_id="c",
            secret_hash=None,
            name="c",
            token_endpoint_auth_method="none",
            grant_types=(),
            response_types=(),
            redirect_uris=(),
            post_logout_redirect_uris=(),
            scope=scope,
            first_party=False,
            refresh_without_offline_access=False,
            require_verified_email=False,
            allowed_cors_origins=(),
            audience=(),
            allow_introspection=False,
            jwks=None,
            jwks_uri=None,
            extra_metadata={},
        )
    )


def test_default_scope_is_everything_registered_the_grant_allows():
    c = client("openid email api:read admin")
    assert check_client_scope(c, None, user_roles=["user"]) == "openid email api:read"
    admin = ["admin", "user"]
    assert check_client_scope(c, None, user_roles=admin) == "openid email api:read admin"
    assert check_client_scope(c, None, user_roles=None) == "api:read"


@pytest.mark.parametrize(
    ("scope", "role"),
    [("api:write", "user"), ("admin", "user"), ("openid", None), ("x" * 3000, "user")],
)
def test_refused_scopes(scope, role):
    with pytest.raises(InvalidScopeError):
        roles = None if role is None else [role]
        check_client_scope(client("openid api:read admin"), scope, user_roles=roles)


def test_duplicates_collapse_and_order_is_kept():
    assert check_client_scope(client("a b c"), "c a c", user_roles=["user"]) == "c a"


@pytest.mark.parametrize(
    ("uri", "ok"),
    [
        ("https://app.example.com/cb", True),
        ("http://localhost:3000/cb", True),
        ("http://127.0.0.1/cb", True),
        ("com.example.app:/oauth", True),
        ("http://app.example.com/cb", False),
        ("https://app.example.com/cb#frag", False),
        ("/relative", False),
        ("javascript:alert(1)", False),
    ],
)
def test_redirect_uri_rules(uri, ok):
    assert (redirect_uri_problem(uri) is None) == ok


def test_spec_problems():
    bad = ClientSpec(
        name="",
        grant_types=["client_credentials", "implicit"],
        scope="",
        token_endpoint_auth_method="none",
    )
    text = " ".join(spec_problems(bad))
    for part in ("name", "grant_types", "scope", "confidential"):
        assert part in text
    needs_uri = ClientSpec(name="x", grant_types=["authorization_code"], scope="openid")
    assert any("redirect_uris" in p for p in spec_problems(needs_uri))
