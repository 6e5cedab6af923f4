"""One module per protocol endpoint: parse, call, respond."""
