"""Where the files shipped inside the package live (templates, static files, translation
catalogs): next to this module, so an installed wheel finds them as a checkout does."""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
TEMPLATES = PACKAGE / "templates"
STATIC = PACKAGE / "static"
LOCALE = PACKAGE / "locale"
