"""Sign-in through upstream identity providers: the provider registry (``providers``),
their kinds and settings (``kinds``, ``config``), and, on top, the login flows."""
