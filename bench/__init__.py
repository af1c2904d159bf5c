"""mockpanel's benchmark: the mock against a bare Starlette endpoint, side by side in one run.

Run ``python -m bench`` from the repository root; see bench/README.md.
"""
