"""Protocol rules on Authlib's server core. No Starlette and no SQL here."""
