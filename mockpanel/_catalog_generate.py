"""Realistic catalogues of any size: ``mockpanel catalog generate`` and ``--catalog generate:N``.

Real providers list thousands of services across the platforms people buy for, named and
grouped the way their panels show them ("Instagram Followers [Refill: 30 Days] [Max 500K]").
A reseller's sync, search and pricing code should be tested against one. The result is a
catalogue file's JSON (the format ``load_catalog`` reads); the same seed gives the same
catalogue (with the same faker version: faker supplies the usernames, countries and languages).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable

MAX_SERVICES = 100_000  # about 30 MB of JSON; a real provider lists a few thousand
PROGRESS_EVERY = 1000  # services between two progress calls: ~50 ms apart
PREFIX = "generate:"  # --catalog generate:N[:SEED]


@dataclass(frozen=True)
class Product:
    """One kind of service a platform sells, and the ranges real price lists show for it."""

    platform: str
    product: str  # "Followers", "Views", ...
    type: str  # the API v2 service type
    rate: tuple[str, str]  # per 1000 (packages: per order), low and high
    min: tuple[int, ...]
    max: tuple[int, ...]
    refill: float = 0.0  # chance the service has refill
    cancel: float = 0.5
    dripfeed: float = 0.0  # chance of drip-feed (Default and Web Traffic only)
    weight: int = 10  # how often it appears


_BIG = (10_000, 50_000, 100_000, 500_000, 1_000_000)
_MID = (5_000, 10_000, 20_000, 50_000, 100_000)
_LOW = (10, 20, 50, 100)
_TEXT = (1, 5, 10)  # comments and usernames: one line each
_TEXT_MAX = (500, 1_000, 5_000, 10_000)


def _p(platform: str, product: str, kind: str, rate: tuple[str, str], low: tuple[int, ...], high: tuple[int, ...], **kw: Any) -> Product:
    return Product(platform, product, kind, rate, low, high, **kw)


PRODUCTS: tuple[Product, ...] = (
    _p("Instagram", "Followers", "Default", ("0.30", "12.00"), _LOW, _BIG, refill=0.6, dripfeed=0.3, weight=40),
    _p("Instagram", "Likes", "Default", ("0.03", "2.50"), _LOW, _BIG, refill=0.4, dripfeed=0.4, weight=40),
    _p("Instagram", "Reels Views", "Default", ("0.002", "0.40"), (100, 500), (1_000_000, 10_000_000), dripfeed=0.5, weight=25),
    _p("Instagram", "Story Views", "Default", ("0.05", "1.20"), _LOW, _MID, weight=10),
    _p("Instagram", "Saves", "Default", ("0.05", "1.00"), _LOW, _MID, weight=8),
    _p("Instagram", "Custom Comments", "Custom Comments", ("2.00", "40.00"), _TEXT, _TEXT_MAX, refill=0.2, weight=10),
    _p("Instagram", "Comments Package", "Custom Comments Package", ("1.00", "15.00"), (1,), (5, 10, 20), cancel=0.0, weight=3),
    _p("Instagram", "Mentions", "Mentions", ("0.80", "6.00"), (100, 500), _MID, weight=3),
    _p("Instagram", "Mentions with Hashtags", "Mentions with Hashtags", ("1.00", "7.00"), (100, 500), _MID, weight=2),
    _p("Instagram", "Mentions Custom List", "Mentions Custom List", ("2.00", "12.00"), _TEXT, (1_000, 5_000), weight=2),
    _p("Instagram", "Mentions Hashtag", "Mentions Hashtag", ("1.00", "6.00"), (100, 500), _MID, weight=2),
    _p("Instagram", "Mentions User Followers", "Mentions User Followers", ("1.00", "6.00"), (100, 500), _MID, weight=2),
    _p("Instagram", "Mentions Media Likers", "Mentions Media Likers", ("1.00", "6.00"), (100, 500), _MID, weight=2),
    _p("Instagram", "Comment Likes", "Comment Likes", ("1.00", "8.00"), (20, 50), (5_000, 10_000), weight=4),
    _p("Instagram", "Auto Likes", "Subscriptions", ("0.10", "3.00"), (50, 100), (5_000, 10_000), weight=6),
    _p("Instagram", "Package", "Package", ("1.50", "60.00"), (1,), (1,), cancel=0.0, weight=4),
    _p("TikTok", "Followers", "Default", ("0.80", "15.00"), _LOW, _BIG, refill=0.5, dripfeed=0.2, weight=30),
    _p("TikTok", "Likes", "Default", ("0.05", "3.00"), _LOW, _BIG, refill=0.3, dripfeed=0.3, weight=30),
    _p("TikTok", "Views", "Default", ("0.001", "0.20"), (100, 1_000), (10_000_000, 100_000_000), dripfeed=0.5, weight=30),
    _p("TikTok", "Shares", "Default", ("0.10", "2.00"), _LOW, _MID, weight=8),
    _p("TikTok", "Custom Comments", "Custom Comments", ("3.00", "35.00"), _TEXT, _TEXT_MAX, weight=6),
    _p("TikTok", "Comment Likes", "Comment Likes", ("1.00", "8.00"), (20, 50), (5_000, 10_000), weight=3),
    _p("YouTube", "Views", "Default", ("0.60", "9.00"), (100, 500, 1_000), _BIG, refill=0.5, dripfeed=0.4, weight=30),
    _p("YouTube", "Subscribers", "Default", ("8.00", "80.00"), (50, 100), _MID, refill=0.7, weight=15),
    _p("YouTube", "Likes", "Default", ("0.50", "8.00"), (20, 50, 100), _MID, refill=0.4, weight=15),
    _p("YouTube", "Watch Time (Hours)", "Default", ("15.00", "90.00"), (100, 500), (4_000, 10_000), refill=0.6, cancel=0.2, weight=6),
    _p("YouTube", "Custom Comments", "Custom Comments", ("5.00", "45.00"), _TEXT, _TEXT_MAX, weight=5),
    _p("YouTube", "Comment Replies", "Comment Replies", ("8.00", "50.00"), _TEXT, (500, 1_000), weight=2),
    _p("YouTube", "Comment Likes", "Comment Likes", ("1.50", "10.00"), (20, 50), (5_000, 10_000), weight=2),
    _p("Telegram", "Members", "Default", ("0.60", "10.00"), (100, 500), _BIG, refill=0.5, dripfeed=0.2, weight=20),
    _p("Telegram", "Post Views", "Default", ("0.005", "0.30"), (100, 500), _BIG, dripfeed=0.5, weight=20),
    _p("Telegram", "Reactions", "Default", ("0.05", "1.50"), (10, 50), _MID, weight=10),
    _p("Telegram", "Poll Votes", "Poll", ("0.30", "3.00"), (50, 100), (10_000, 50_000), weight=4),
    _p("Telegram", "Members from Groups", "Invites from Groups", ("1.50", "9.00"), (100, 500), _MID, weight=3),
    _p("Telegram", "Auto Post Views", "Subscriptions", ("0.05", "1.00"), (100, 500), (10_000, 50_000), weight=4),
    _p("X (Twitter)", "Followers", "Default", ("2.00", "25.00"), _LOW, _MID, refill=0.5, weight=15),
    _p("X (Twitter)", "Likes", "Default", ("0.50", "8.00"), _LOW, _MID, refill=0.3, weight=12),
    _p("X (Twitter)", "Retweets", "Default", ("0.80", "10.00"), _LOW, _MID, refill=0.3, weight=10),
    _p("X (Twitter)", "Views", "Default", ("0.01", "0.50"), (100, 1_000), _BIG, weight=10),
    _p("X (Twitter)", "Poll Votes", "Poll", ("0.50", "5.00"), (50, 100), (10_000, 50_000), weight=2),
    _p("Facebook", "Page Likes", "Default", ("1.00", "15.00"), (50, 100), _MID, refill=0.5, weight=12),
    _p("Facebook", "Post Likes", "Default", ("0.40", "6.00"), _LOW, _MID, refill=0.3, weight=12),
    _p("Facebook", "Video Views", "Default", ("0.05", "2.00"), (100, 500), _BIG, dripfeed=0.4, weight=10),
    _p("Facebook", "Custom Comments", "Custom Comments", ("4.00", "40.00"), _TEXT, _TEXT_MAX, weight=3),
    _p("Spotify", "Plays", "Default", ("0.40", "3.50"), (500, 1_000), _BIG, refill=0.4, dripfeed=0.5, weight=12),
    _p("Spotify", "Followers", "Default", ("0.60", "5.00"), (100, 500), _MID, refill=0.5, weight=8),
    _p("Spotify", "Monthly Listeners", "Default", ("1.50", "12.00"), (500, 1_000), _MID, weight=4),
    _p("Threads", "Followers", "Default", ("1.00", "12.00"), _LOW, _MID, refill=0.4, weight=5),
    _p("Twitch", "Followers", "Default", ("0.50", "6.00"), (50, 100), _MID, weight=5),
    _p("Twitch", "Live Viewers (1 Hour)", "Default", ("2.00", "20.00"), (10, 20), (1_000, 5_000), cancel=0.0, weight=4),
    _p("Discord", "Server Members", "Default", ("3.00", "30.00"), (50, 100), (5_000, 20_000), weight=4),
    _p("LinkedIn", "Followers", "Default", ("8.00", "60.00"), (50, 100), (5_000, 10_000), refill=0.3, weight=3),
    _p("SoundCloud", "Plays", "Default", ("0.05", "1.00"), (100, 1_000), _BIG, dripfeed=0.3, weight=4),
    _p("Pinterest", "Followers", "Default", ("2.00", "15.00"), _LOW, _MID, weight=3),
    _p("Google", "SEO Keywords", "SEO", ("1.00", "9.00"), (100, 500), (5_000, 10_000), weight=3),
    _p("Website Traffic", "Visitors", "Web Traffic", ("0.05", "1.80"), (500, 1_000), _BIG, dripfeed=0.5, weight=10),
)
SERVICE_TYPES = tuple(dict.fromkeys(p.type for p in PRODUCTS))  # every type the mock supports
_PLATFORMS = list(dict.fromkeys(p.platform for p in PRODUCTS))
_QUALITY = ("Real", "HQ", "Mixed", "Premium", "Bot", "Real Active", "Non Drop", "Low Drop", "Instant", "Fast")
_SPEEDS = ("1K/Day", "5K/Day", "10K/Day", "50K/Day", "100K/Day", "500K/Day", "1M/Day")
_STARTS = ("0-1 Hr", "0-6 Hrs", "0-12 Hrs", "0-24 Hrs", "Instant")
_REFILLS = ("30 Days", "60 Days", "90 Days", "365 Days", "Lifetime")
# Faker locale -> how providers name the market in a service, and the language of its comments.
MARKETS: dict[str, tuple[str, str]] = {
    "en_US": ("USA", "English"), "en_GB": ("UK", "English"), "pt_BR": ("Brazil", "Portuguese"),
    "tr_TR": ("Turkey", "Turkish"), "hi_IN": ("India", "Hindi"), "id_ID": ("Indonesia", "Indonesian"),
    "ar_SA": ("Arab", "Arabic"), "ru_RU": ("Russia", "Russian"), "de_DE": ("Germany", "German"),
    "fr_FR": ("France", "French"), "es_ES": ("Spain", "Spanish"), "es_MX": ("Mexico", "Spanish"),
    "it_IT": ("Italy", "Italian"), "ko_KR": ("Korea", "Korean"), "ja_JP": ("Japan", "Japanese"),
}
_MARKS = ("", "", "", "", " ⚡", " 🔥", " ⭐", " [Recommended]", " [NEW]")


def generate_catalog(services: int, *, seed: int = 0, progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """A catalogue file's JSON with ``services`` services, the same for the same seed. ``progress`` (if given)
    is told how many services are made, every ``PROGRESS_EVERY`` and at the end."""
    if isinstance(services, bool) or not isinstance(services, int) or not 1 <= services <= MAX_SERVICES:
        raise ValueError(f"the number of services must be an integer from 1 to {MAX_SERVICES}, got {services!r}")
    from faker import Faker  # the catalog extra: pip install 'mockpanel[catalog]'

    fake = Faker(list(MARKETS))
    fake.seed_instance(seed)
    rng = random.Random(f"mockpanel-catalog-{seed}")
    # Usernames and sites as each market writes them; faker is slow per call (~0.2 ms), so
    # pools are drawn once and picked from.
    per_market = max(5, min(services // len(MARKETS), 40))
    words = _Words(
        users={m: [fake[m].user_name() for _ in range(per_market)] for m in MARKETS},
        domains=[fake[m].domain_name() for m in MARKETS for _ in range(3)],
    )
    # Every type at least once when there is room, then the mix real price lists show.
    products = [_first_of(t) for t in SERVICE_TYPES][:services]
    products += rng.choices(PRODUCTS, weights=[p.weight for p in PRODUCTS], k=services - len(products))
    made = []
    for p in products:
        made.append((_PLATFORMS.index(p.platform), PRODUCTS.index(p), _service(p, rng, words)))
        if progress is not None and len(made) % PROGRESS_EVERY == 0:
            progress(len(made))
    if progress is not None:
        progress(len(made))
    made.sort(key=lambda row: (row[0], row[1], row[2]["category"]))  # by platform, product, category
    listing, next_id = [], rng.randint(1, 50)
    for _, _, entry in made:
        listing.append({"service": next_id, **entry})
        next_id += rng.choice((1, 1, 1, 2, 3, 7))  # real ids have gaps: services get removed
    return {"description": f"Generated by mockpanel catalog generate: {services} services, seed {seed}.", "services": listing}


@dataclass(frozen=True)
class _Words:
    users: dict[str, list[str]]  # by market
    domains: list[str]


def _first_of(kind: str) -> Product:
    return next(p for p in PRODUCTS if p.type == kind)


def _service(p: Product, rng: random.Random, words: _Words) -> dict[str, Any]:
    refill = rng.random() < p.refill
    cancel = rng.random() < p.cancel
    dripfeed = p.type in ("Default", "Web Traffic") and rng.random() < p.dripfeed
    low = rng.choice(p.min)
    high = max(rng.choice(p.max), low)
    # Most services are worldwide; some target one market, as providers' "[USA]" or "[Arab]" ones.
    market = rng.choice(list(MARKETS)) if rng.random() < 0.2 else "en_US"
    country, language = MARKETS[market] if market != "en_US" or rng.random() < 0.1 else ("", "English")
    start = rng.choice(_STARTS)
    tags = [f"[{rng.choice(_QUALITY)}]"]
    if country and p.type not in ("Package", "Custom Comments Package"):
        tags.append(f"[{country}]")
    if p.type in ("Custom Comments", "Comment Replies", "Custom Comments Package"):
        tags.append(f"[{language}]")
    tags.append(f"[Refill: {rng.choice(_REFILLS)}]" if refill else "[No Refill]")
    tags += [f"[Max {_short(high)}]", f"[Start: {start}]", f"[Speed: {rng.choice(_SPEEDS)}]"]
    name = f"{p.platform} {p.product} {' '.join(tags)}{rng.choice(_MARKS)}"
    if p.type == "Package":
        name = f"{p.platform} Package: {_short(rng.choice(_MID))} Followers + {_short(rng.choice(_MID))} Likes"
    category = f"{p.platform} {p.product}" + (f" [{country}]" if country else "") + (" [Refill]" if refill else "")
    return {
        "name": name,
        "type": p.type,
        "category": category,
        "rate": str(_rate(p, rng)),
        "min": low,
        "max": high,
        "refill": refill,
        "cancel": cancel,
        "dripfeed": dripfeed,
        "description": _description(p, rng, words, market, start, refill),
    }


def _rate(p: Product, rng: random.Random) -> Decimal:
    # Log-uniform between the bounds (cheap bots and premium real accounts), with the decimals
    # providers print: 4 below 0.1, 3 below 1, else 2.
    low, high = float(p.rate[0]), float(p.rate[1])
    value = low * (high / low) ** rng.random()
    places = 4 if value < 0.1 else 3 if value < 1 else 2
    return max(Decimal(str(round(value, places))), Decimal(1).scaleb(-places))


def _description(p: Product, rng: random.Random, words: _Words, market: str, start: str, refill: bool) -> str:
    if p.platform in ("Website Traffic", "Google"):
        example = f"https://{rng.choice(words.domains)}/"
    else:
        site = "x.com" if p.platform.startswith("X ") else f"{p.platform.lower()}.com"
        example = f"https://{site}/{rng.choice(words.users[market])}"
    lines = [f"Example link: {example}", f"Start: {start}"]
    lines.append("Refill: " + ("if it drops within the refill period" if refill else "none"))
    return "\n".join(lines)


def _short(n: int) -> str:
    return f"{n // 1_000_000}M" if n >= 1_000_000 else f"{n // 1_000}K" if n >= 1_000 else str(n)


def parse_generate(spec: str) -> tuple[int, int] | None:
    """``generate:N`` or ``generate:N:SEED`` -> (N, SEED); any other catalogue name -> None."""
    if not spec.startswith(PREFIX):
        return None
    parts = spec[len(PREFIX):].split(":")
    if len(parts) > 2 or not all(part.isascii() and part.isdigit() for part in parts):
        raise ValueError(f"--catalog {spec!r}: write generate:N or generate:N:SEED, e.g. generate:5000 or generate:5000:7")
    return int(parts[0]), int(parts[1]) if len(parts) == 2 else 0
