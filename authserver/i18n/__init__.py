"""Translations: message markers (``message``), catalogs compiled from ``.po`` files
(``catalogs``), choosing a locale for a request (``negotiation``) and Jinja2 environments
with the i18n extension per locale (``environments``). No web framework here."""
