"""Second factors: authenticator apps (TOTP), recovery codes, and the sign-ins waiting for
one. ``factors`` is the service layer the account page, the admin API, the CLI and the
console share; ``second_factor`` checks what a person types; ``pending`` holds a sign-in
between its first and second factor."""
