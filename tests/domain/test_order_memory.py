"""bench/order_memory.py runs, and a typical stored order stays small (a loose bound: the goal is in bench/)."""

from __future__ import annotations

from bench import order_memory


def test_order_memory_measures_typical_and_maximum_orders(capsys) -> None:
    results = order_memory.main(["--typical", "500", "--maximum", "2"])
    out = capsys.readouterr().out
    assert "typical" in out and "maximum, ASCII" in out
    assert 0 < results["typical"] < 1000  # measured ~210 B; 1 KB would mean every order keeps junk
    # At every limit an order is bounded: two 100,000-character lists and a 2,048-character link.
    assert 150_000 < results["maximum_ascii"] < 300_000
    assert results["maximum_4byte"] < 1_000_000
