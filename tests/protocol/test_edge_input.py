"""Input at the edge of every endpoint: odd characters, deep JSON, stray slashes. Each is
a standard 400 (or 404) that changes nothing, never a 500 and never a redirect elsewhere."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    "path", ["/login/", "/token/", "/.well-known/jwks.json/", "/admin/clients/"]
)
def test_a_trailing_slash_is_not_found_not_a_redirect_to_the_host_header(client, path):
    r = client.get(path, headers={"Host": "evil.example"}, follow_redirects=False)
    assert r.status_code in (404, 405) and "location" not in r.headers
