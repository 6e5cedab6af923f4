"""Signing keys: on-disk store, pure lifecycle, the running key ring, management."""
