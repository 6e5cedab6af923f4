"""End-user rules: passwords, login, sign-up, reset, login sessions. No HTTP here."""
