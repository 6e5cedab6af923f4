"""The JSON admin API under /admin/."""
