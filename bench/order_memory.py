"""``python -m bench.order_memory``: memory per stored order, typical and at every field limit.

Orders are placed through the Python API (``panel.add``, the same path as an HTTP add after
parsing) on a panel built from the standard dialect, with the clock frozen and stepped so most
orders are final, as a long-running mock's are. Python's own allocations are counted with
``tracemalloc`` (exact, and free of the allocator's page reuse that blurs RSS); the figure is
(bytes after - bytes before) / orders, so the columns' amortised growth is included.

  typical  a Default order: a 40-character link, a quantity (the common case by far)
  maximum  a "Mentions with Hashtags" order (the type with the most free text: a link and two
           lists) with every field at its limit: link, usernames and hashtags, in ASCII and in
           4-byte characters (emoji: CPython stores such text at 4 bytes a character)
"""

from __future__ import annotations

import argparse
import gc
import tracemalloc
from typing import Callable

from mockpanel import build_panel
from mockpanel._panel.panel import Panel

KEY = "bench-memory-key"


def _panel() -> Panel:
    panel = build_panel("standard", seed=1, speed=0)
    panel.create_account(KEY, balance="1000000000")
    return panel


def per_order(make_fields: Callable[[int], dict[str, str]], service: str, count: int) -> float:
    """Bytes of Python memory one more stored order costs, averaged over ``count`` orders."""
    panel = _panel()
    for i in range(50):  # warm the interned tables and caches: they are shared, not per order
        panel.add(KEY, service, make_fields(-i - 1))
    panel.clock.advance(seconds=86_400)
    panel.balance(KEY)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for i in range(count):
        panel.add(KEY, service, make_fields(i))
        if i % 100 == 99:
            panel.clock.advance(seconds=3600)  # earlier orders end; their refunds are settled
    panel.clock.advance(seconds=30 * 86_400)
    panel.balance(KEY)
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return (after - before) / count


def typical(i: int) -> dict[str, str]:
    return {"link": f"https://instagram.com/p/C{i:010d}x/", "quantity": "1000"}


def maximum(char: str) -> Callable[[int], dict[str, str]]:
    rules = _panel().settings.rules
    line = max(1, rules.max_list_text // rules.max_lines - 1)  # as many lines as allowed, each as long as fits

    def fields(i: int) -> dict[str, str]:
        head = f"https://instagram.com/p/{i}/?"
        names = "\n".join(char * line for _ in range(rules.max_lines))
        return {
            "link": head + char * (rules.max_link - len(head)),
            "quantity": "100",
            "usernames": names,
            "hashtags": names,
        }

    return fields


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--typical", type=int, default=20_000, help="orders for the typical figure (default 20000)")
    parser.add_argument("--maximum", type=int, default=20, help="orders for each maximum figure (default 20)")
    args = parser.parse_args(argv)
    rules = _panel().settings.rules
    results = {
        "typical": per_order(typical, "1", args.typical),
        "maximum_ascii": per_order(maximum("u"), "9", args.maximum),
        "maximum_4byte": per_order(maximum("\U0001f600"), "9", args.maximum),
    }
    print(f"limits: link {rules.max_link} chars, list fields {rules.max_list_text} chars / {rules.max_lines} lines, "
          f"one-line fields {rules.max_text} chars")
    print(f"{'order':<28}{'bytes/order':>14}")
    print(f"{'typical (Default, 40-char link)':<28}{results['typical']:>14,.0f}")
    print(f"{'maximum, ASCII':<28}{results['maximum_ascii']:>14,.0f}")
    print(f"{'maximum, 4-byte characters':<28}{results['maximum_4byte']:>14,.0f}")
    return results


if __name__ == "__main__":
    main()
