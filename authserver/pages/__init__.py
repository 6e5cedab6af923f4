"""Hosted pages: GET renders, POST validates, calls accounts/oauth, redirects or re-renders."""
