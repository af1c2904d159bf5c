"""The requirement catalogue: conformance/requirements.json, as data.

Each requirement has an id (V2-BAL-01), the clause it comes from, a severity
(failure: documented; warning: only observed in the wild) and the tier that can
exercise it. Reports and the README table are generated from it:

    python -m conformance.catalogue    # prints the README table
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

TIERS = ("read-only", "orders")
SEVERITIES = ("failure", "warning")
AREAS = (
    "transport", "auth", "services", "balance", "status", "batches", "add", "service types",
    "orders and money", "refill", "cancel", "isolation", "error wording",
)


@dataclass(frozen=True)
class Requirement:
    id: str
    area: str
    title: str
    text: str
    source: str
    clause: str
    severity: str  # "failure" or "warning"
    tier: str  # "read-only" or "orders"
    needs: tuple[str, ...] = ()  # "second_key", "action:refill", "service_type:Package"
    service_type: str | None = None
    dripfeed: bool = False
    error_codes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Catalogue:
    requirements: tuple[Requirement, ...]
    statuses_in_the_wild: tuple[str, ...]
    service_type_names: tuple[str, ...]
    severity_rule: str
    by_id: dict[str, Requirement] = field(default_factory=dict, compare=False, repr=False)

    def __getitem__(self, rid: str) -> Requirement:
        return self.by_id[rid]

    def __iter__(self) -> Iterator[Requirement]:
        return iter(self.requirements)

    def __len__(self) -> int:
        return len(self.requirements)


def _requirement(data: dict[str, Any], where: str) -> Requirement:
    for name in ("id", "area", "title", "text", "source", "clause", "severity", "tier"):
        if not isinstance(data.get(name), str) or not data[name]:
            raise ValueError(f"{where}: field {name!r} must be a non-empty string")
    if data["severity"] not in SEVERITIES:
        raise ValueError(f"{where}: severity must be one of {SEVERITIES}, got {data['severity']!r}")
    if data["tier"] not in TIERS:
        raise ValueError(f"{where}: tier must be one of {TIERS}, got {data['tier']!r}")
    if data["area"] not in AREAS:
        raise ValueError(f"{where}: area must be one of {AREAS}, got {data['area']!r}")
    return Requirement(
        id=data["id"], area=data["area"], title=data["title"], text=data["text"], source=data["source"],
        clause=data["clause"], severity=data["severity"], tier=data["tier"],
        needs=tuple(data.get("needs", ())), service_type=data.get("service_type"),
        dripfeed=bool(data.get("dripfeed", False)), error_codes=tuple(data.get("error_codes", ())),
    )


@lru_cache(maxsize=1)
def load_catalogue() -> Catalogue:
    """The catalogue shipped with the package, checked field by field."""
    text = resources.files("conformance").joinpath("requirements.json").read_text(encoding="utf-8")
    data = json.loads(text)
    reqs = tuple(_requirement(r, f"requirements.json[{i}]") for i, r in enumerate(data["requirements"]))
    ids = [r.id for r in reqs]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"requirements.json: duplicate ids {duplicates}")
    return Catalogue(
        requirements=reqs,
        statuses_in_the_wild=tuple(data["statuses_in_the_wild"]),
        service_type_names=tuple(data["service_type_names"]),
        severity_rule=data["severity_rule"],
        by_id={r.id: r for r in reqs},
    )


def markdown_table(catalogue: Catalogue | None = None) -> str:
    """The README's requirement table, generated from the data."""
    catalogue = catalogue or load_catalogue()
    rows = ["| ID | Requirement | Tier | Severity | Source |", "| --- | --- | --- | --- | --- |"]
    for r in catalogue:
        title = r.title.replace("|", "\\|")
        rows.append(f"| {r.id} | {title} | {r.tier} | {r.severity} | {r.source.replace('|', '/')} |")
    return "\n".join(rows)


# The public pages and repositories behind each kind of source the catalogue names.
_SEEDS = ("https://smmprime.com/api", "https://smmprovider.co/api", "https://smm.plus/api", "https://smmpro.in/api")
_SMARTPANEL = "https://github.com/shadiew/smartpanel_4_0"
_BOOSTED = "https://github.com/benshandd/BoostedSMM"
_CMSNT = "https://github.com/CMSNTSourceCode/SMMPANELV1"
_TGLUX = "https://github.com/SmmTGlux/smm-api-php"
PUBLIC: dict[str, tuple[str, ...]] = {
    "seeds 000–003": _SEEDS,
    "seed 003": ("https://smmpro.in/api",),
    "seed 004": ("https://smmpanel.ru/api",),
    "SmartPanel": ("https://smmpanel.ru/api", _SMARTPANEL),
    "type ids": ("https://smmpanel.com.co/zh/api", "https://smmzey.com/bp/api", "https://github.com/suitableit/smmdoc"),
    "add fields": ("https://smmzey.com/bp/api", "https://smmpanel.com.co/zh/api", _CMSNT + " (public/example.txt)"),
    "status words": ("https://smmpanelus.com/pt/order-statuses", _SMARTPANEL),
    "refills": (_BOOSTED, "https://pro.smmpanels.store/api"),
    "cancels": (_TGLUX,),
    "charge and remains": (_BOOSTED + " (htdocs/crons/orders.php)", _SMARTPANEL, "https://likedora.com/blog/cancelvspartial"),
    "error shape": ("https://packagist.org/packages/smmtglux/smm-api", _TGLUX),
    "error words": (_SMARTPANEL, _BOOSTED, _CMSNT),
    "transport": (_CMSNT, _TGLUX),
    "server code": (_SMARTPANEL, _BOOSTED),
    "client hangs": ("https://github.com/sleepyvani/smmgo",),
    "client sync": ("https://github.com/suitableit/smmdoc",),
}


def public_sources(req: Requirement) -> list[str]:
    """The public pages a requirement rests on, read from the kinds of source it names."""
    out: list[str] = []
    for token, urls in PUBLIC.items():
        if token in req.source:
            out += [u for u in urls if u not in out]
    return out


_FINDINGS = """## What the suite now tells apart

- **Action not supported.** An action of the API that the panel answers as it answers an action no
  panel has (the suite asks one first) is reported as "action not supported", and every requirement
  that needs the action is *not exercised* with that reason, never passed; the action is not sent
  again. The answer is recognised in every form panels use: an error in any envelope (`{"error": …}`,
  `{"status": "error", "message": …}`), `null`, an empty body, `{}`, `[]`, an HTML page (with its HTTP
  status), other text. Key probes are sent only on actions every panel has (balance, services).
- **Refusals are asked.** A second key's cancel passes V2-ISO-02 only if the panel refuses it (an
  error, or the order's item carrying one): `null`, `{}` or an empty list refuse nothing. A batch over
  the limit passes V2-BAT-04 only if the refusal is not another error's words ("Incorrect order ID"
  refuses an order, not a size), and only on a panel that accepts batches within the limit.
- **Orders followed the way the panel lets you.** Orders are read by multi-status while it gives them;
  the first time it does not, one single status of the order decides: if single status shows it,
  V2-BAT-06 fails once, the note says so, and every order is followed by single status from then on,
  judged on everything else. Waiting for orders on a panel whose clock cannot be driven stops early
  when no tracked order has moved for `patience` seconds (300 by default), and the notes say so.
- **Flags are booleans.** `true`, `1`, `"1"`, `"true"` are true; `false`, `0`, `"0"`, `"false"` are
  false. A service listing `"dripfeed": "0"` is not planned for drip-feed.
- **Type spelling.** `services.type` must be spelled as the dialect spells it: names (`Custom Comments`)
  for the standard dialect, slugs (`custom_comments`) for SmartPanel (V2-SVC-04).
- **Keys compared exactly.** The real key in other letter case, or with a space or tab around it, is
  tried on balance and services, each one (V2-AUTH-03).
- **Probes that prove what they claim.** An invalid add differs from a valid one in exactly one thing.
  Every malformed writing of a number is tried, each otherwise in range (at the service's minimum
  `m`: `abc`, `m.5`, `me0`, `-m`), for the quantity (V2-ADD-07) and a drip-feed's runs and interval
  (V2-ADD-07); every value the documents rule out is tried (no runs, an interval the dialect does not
  list; a subscription's unlisted delay, an expiry that is no date: the type's requirement); each
  required field of each type is left out in turn (the type's requirement). A refusal counts only if
  it refuses what was probed: words of another error ("Quantity less than minimal …", another field's
  "Incorrect link") fail it; the link busy with an order outside the run proves nothing. An accepted
  probe is followed as what was sent (unpriced where its quantity is unknown) and waits until the
  valid orders on its service are placed and ended, so it never blocks them.
- **Error envelopes.** An error in another envelope than the dialect's (`{"status": "error",
  "message": …}`, `{"success": false, …}`) is a finding on any action, drip-feed included (V2-GEN-05).
- **Exact money.** A charge is checked to half a unit of the dialect's last decimal (one rounding):
  a charge one unit short (truncated, not rounded) is a failure (V2-ORD-02). A Partial charge allows
  the two roundings of charge and refund (1.5 units: the documents do not say how a refund rounds).
- **Flags are promises.** Refill of a completed order of a `"refill": false` service (V2-REF-06) and
  cancel of a `"cancel": false` service (V2-CAN-03) are failures.
- **One currency.** A status whose `currency` is not the balance's is a failure (V2-STA-05).
- **Content type.** JSON sent as `text/html` is a warning (V2-GEN-07), unless the dialect's profile
  says its panels send it so (SmartPanel does).
- **No warnings about the mock's own bounds.** A limit a profile sets only to keep the mock bounded
  (SmartPanel's batch limit: `"limit_documented": false`) is not probed (V2-BAT-04 not exercised).
- **Rates.** A service whose rate is not a positive price (negative, zero, not a number, above
  1000000 per 1000) is flagged (V2-SVC-03) and never ordered.
- **Every finding.** A report keeps every distinct finding of a requirement (up to 20), not only the first.
- **Every malformed id.** Each malformed kind of id (empty, blank, zero, negative, `1.5`, `1e3`, a word,
  `null`, `[]`, `{}`, `0x10`, other scripts' digits) is sent once to status (V2-STA-01) and refill_status
  (V2-REF-04), whatever the seed; random ones are drawn besides.
- **Every read.** A key's balance currency is checked on every read, not the first one only (V2-BAL-01); a
  single status keyed by its order id must be keyed by the id asked for (V2-STA-02).
"""


def requirements_markdown(catalogue: Catalogue | None = None) -> str:
    """docs/requirements.md: every requirement with its clause and public sources."""
    catalogue = catalogue or load_catalogue()
    lines = [
        "# The requirements the conformance suite checks",
        "",
        "Generated from `conformance/requirements.json` by `python -m conformance.catalogue --doc`;",
        "do not edit by hand. Severity: *failure* where the documents say it, *warning* where it is only",
        "observed in the wild. Tier: *read-only* spends nothing; *orders* places the cheapest orders.",
        "",
        "| ID | Requirement | Clause | Severity | Tier | Public source |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in catalogue:
        cells = [r.id, r.title, r.clause, r.severity, r.tier, "<br>".join(public_sources(r))]
        lines.append("| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |")
    return "\n".join(lines) + "\n\n" + _FINDINGS


if __name__ == "__main__":  # pragma: no cover
    import sys

    print(requirements_markdown() if "--doc" in sys.argv[1:] else markdown_table(), end="" if "--doc" in sys.argv[1:] else "\n")
