"""Which upstream URLs (issuers, endpoints, icons) a provider may name."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from authserver.text import storable

MAX_URL = 2000


def is_loopback_host(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def upstream_url_problem(url: str, allow_private_networks: bool) -> str | None:
    """Why ``url`` cannot be an upstream issuer or endpoint, or None. https only, except
    http on loopback when private networks are allowed (a test rig); no credentials or
    fragment (the fetch is ours, and OpenID Connect Discovery §3 forbids fragments)."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL or not storable(url):
        return "must be an absolute https URL"
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        return "must be an absolute https URL"
    if parts.scheme not in ("https", "http") or not host or any(c.isspace() for c in url):
        return "must be an absolute https URL"
    if parts.scheme == "http" and not (allow_private_networks and is_loopback_host(host)):
        return (
            "must use https (http only on loopback, with "
            "AUTHSERVER_FEDERATION_ALLOW_PRIVATE_NETWORKS)"
        )
    if parts.username is not None or parts.password is not None:
        return "must not carry a user name or password"
    if parts.fragment or url.endswith("#"):
        return "must not have a fragment"
    return None


def display_url_problem(url: str) -> str | None:
    """An icon shown on the login page: https (or a local path below /static/)."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL or not storable(url):
        return "must be an https URL"
    if url.startswith("/static/") and ".." not in url and "//" not in url[1:]:
        return None
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return "must be an https URL (or a path below /static/)"
    if parts.scheme != "https" or not host or any(c.isspace() for c in url):
        return "must be an https URL (or a path below /static/)"
    if parts.username is not None or parts.password is not None:
        return "must not carry a user name or password"
    return None
