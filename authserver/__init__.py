"""authserver: an OAuth 2.0 / OpenID Connect authorization server."""

# The one place the version is written (pyproject.toml reads it; CHANGELOG.md names it).
__version__ = "0.2.0"
