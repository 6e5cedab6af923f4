"""One module per grant type."""
