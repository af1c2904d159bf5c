"""scrub.py: every key a panel knows hidden in the text it shows, and nothing else changed.

The surfaces that use it (the control API, the dashboard, the downloads, the HAR, the logs) are tested
over a real socket in tests/test_secrets.py."""

from __future__ import annotations

from urllib.parse import quote, quote_plus

from mockpanel import VirtualClock, build_panel
from mockpanel._domain.accounts import KeyDigest, key_digest, redact
from mockpanel._panel.scrub import KeyScrubber, scrub, scrubber

OWN = "sk-own/3c9e1f77aa"  # a slash: its escaped forms differ
OTHER = "sk-other-8d21b0c4ee"
PLAIN = "4242"  # short and all digits: a number as often as a key


def test_a_distinctive_key_is_hidden_wherever_it_stands_and_however_it_is_written() -> None:
    s = KeyScrubber([OWN, OTHER], {key_digest(OWN), key_digest(OTHER)})
    for written in (OWN, quote(OWN, safe=""), quote_plus(OWN), quote(OWN, safe="").lower(), OWN.replace("/", "&#47;")):
        text = s.text(f"https://x.test/p?k={written}&n=1#x{OTHER}y")
        assert OWN not in text and OTHER not in text and written not in text, text
        assert text == f"https://x.test/p?k={redact(OWN)}&n=1#x{redact(OTHER)}y"
    assert s.text("nothing here: 4242, key#00000000") == "nothing here: 4242, key#00000000"


def test_a_plain_key_is_hidden_only_where_it_stands_as_a_key() -> None:
    s = KeyScrubber([PLAIN], {key_digest(PLAIN)})
    assert s.text(f"https://x.test/?key={PLAIN}&n={PLAIN}") == f"https://x.test/?key={redact(PLAIN)}&n={PLAIN}"
    assert s.text(f'{{"api_key": "{PLAIN}"}}') == f'{{"api_key": "{redact(PLAIN)}"}}'
    assert s.text(f"{PLAIN} likes") == f"{PLAIN} likes"


def test_a_key_known_only_by_its_digest_is_found_as_a_word_or_a_key_field() -> None:
    s = KeyScrubber([], {key_digest(OTHER), key_digest(PLAIN)})  # restored from a state file: no key text
    assert s.text(f"see {OTHER}, or key={PLAIN}") == f"see {redact(OTHER)}, or key={redact(PLAIN)}"
    assert s.text(f"{quote_plus(OTHER)}") == redact(OTHER)


def test_values_are_walked_and_named_members_kept() -> None:
    s = KeyScrubber([OTHER], {key_digest(OTHER)})
    value = {"link": f"a{OTHER}", "n": 3, "list": [OTHER, 1.5, None], OTHER: True, "digest": OTHER}
    assert s.value(value, keep=("digest",)) == {
        "link": f"a{redact(OTHER)}", "n": 3, "list": [redact(OTHER), 1.5, None], redact(OTHER): True, "digest": OTHER}


def test_a_panel_s_scrubber_follows_its_keys() -> None:
    panel = build_panel(clock=VirtualClock(speed=0, start=1_700_000_000), seed=1)
    panel.create_account(OWN, balance="1")
    first = scrubber(panel)
    assert scrubber(panel) is first  # built once per change of the keys
    assert scrub(panel, f"{OWN} {OTHER}") == f"{redact(OWN)} {OTHER}"
    panel.create_account(OTHER, balance="1")
    assert scrub(panel, [f"{OWN} {OTHER}"]) == [f"{redact(OWN)} {redact(OTHER)}"]
    panel.remove_account(OTHER)
    assert scrub(panel, OTHER) == OTHER  # a removed key is no longer the panel's


def test_a_restored_panel_s_keys_are_found_by_their_digest() -> None:
    panel = build_panel(clock=VirtualClock(speed=0, start=1_700_000_000), seed=1)
    panel.create_account(OTHER, balance="1")
    restored = build_panel(clock=VirtualClock(speed=0, start=1_700_000_000), seed=1)
    from mockpanel._panel import snapshot

    restored.restore_snapshot(snapshot.dump(panel.core))
    assert all(isinstance(a.key, KeyDigest) for a in restored.accounts())
    assert scrub(restored, f"https://x.test/{OTHER}/p") == f"https://x.test/{redact(OTHER)}/p"
