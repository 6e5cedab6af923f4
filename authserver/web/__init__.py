"""Starlette plumbing shared by the endpoint, page, admin and ops handlers."""
