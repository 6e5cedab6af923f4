"""The one error every SAML check raises: a short machine reason (audited, counted) and
a detail for the operator's log. Neither is shown to the end user beyond a generic
message: the reason says which check failed, which an attacker probing may not learn."""

from __future__ import annotations


class SamlError(Exception):
    """A SAML message refused. ``reason`` is a stable snake_case code."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail
