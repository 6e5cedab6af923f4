"""Serving the app: uvicorn listeners and the HTTP protocol limits."""
