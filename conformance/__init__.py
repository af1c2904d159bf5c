"""The conformance suite (see conformance/README.md)."""
