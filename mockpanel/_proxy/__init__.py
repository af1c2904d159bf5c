"""``mockpanel proxy``: a spy between a client and a live panel (docs/record-and-proxy.md)."""
