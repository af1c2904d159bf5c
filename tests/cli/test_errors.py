"""The command line's errors as a user meets them: one line that names the file or the option and says what to
do; an error about a file's content has no usage banner (the command line itself was right)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from conformance.profile import load_dialect as judge_dialect
from mockpanel._cli import currency_code, main
from mockpanel._dialects import load_dialect as mock_dialect


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), env={"NO_COLOR": "1", **(env or {})})
    return result.exit_code, result.output


def one_line_error(output: str) -> str:
    """The output is one ``Error: ...`` line and nothing else: no usage banner, no traceback."""
    lines = output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), output
    assert "Usage:" not in output and "Try '" not in output and "Traceback" not in output, output
    return lines[0]


@pytest.fixture
def not_utf8(tmp_path: Path) -> Path:
    path = tmp_path / "latin1.json"
    path.write_bytes('{"name": "caf\u00e9"}'.encode("latin-1"))
    return path


def test_a_catalogue_that_is_not_utf8_is_named(not_utf8: Path) -> None:
    code, out = run("serve", "--catalog", str(not_utf8))
    assert code == 2 and f"{not_utf8}: not UTF-8 text" in one_line_error(out)


def test_a_profile_that_is_not_utf8_is_named_by_the_judge_too(not_utf8: Path) -> None:
    code, out = run("proxy", "http://127.0.0.1:9/api/v2", "--dialect", str(not_utf8))  # the proxy's judge reads it
    assert code == 2 and f"{not_utf8}: not UTF-8 text" in one_line_error(out)
    code, out = run("serve", "--dialect", str(not_utf8))
    assert code == 2 and f"{not_utf8}: not UTF-8 text" in one_line_error(out)


@pytest.mark.parametrize("option", ["--catalog", "--dialect"])
def test_a_file_that_is_not_json_is_one_line_without_usage(tmp_path: Path, option: str) -> None:
    path = tmp_path / "broken.json"
    path.write_text("{not json", encoding="utf-8")
    code, out = run("serve", option, str(path))
    assert code == 2 and f"{path}: not valid JSON" in one_line_error(out)


def test_gauntlet_names_an_unreadable_profile_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text("[]", encoding="utf-8")
    code, out = run("gauntlet", "--dialects", str(path), "--", "true")
    assert code == 2 and "--dialects: " in one_line_error(out) and "a profile is a JSON object" in out


def test_a_profile_file_without_a_name_is_named_by_its_file(tmp_path: Path) -> None:
    path = tmp_path / "my-panel.json"
    path.write_text(json.dumps({"extends": "msm", "description": "mine"}), encoding="utf-8")
    assert mock_dialect(str(path)).name == "my-panel"  # not "msm", the name of what it extends
    assert judge_dialect(str(path)).name == "my-panel"  # both readers agree
    named = tmp_path / "other.json"
    named.write_text(json.dumps({"extends": "msm", "name": "kept"}), encoding="utf-8")
    assert mock_dialect(str(named)).name == judge_dialect(str(named)).name == "kept"
    assert mock_dialect("msm").name == "msm"


def test_from_refuses_dialect_and_catalog_beside_it(tmp_path: Path) -> None:
    for option, value in (("--dialect", "msm"), ("--catalog", "default")):
        code, out = run("serve", "--from", str(tmp_path), option, value)
        assert code == 2 and f"drop {option}" in out, out
    code, out = run("serve", "--from", str(tmp_path), env={"MOCKPANEL_CATALOG": "default"})
    assert code == 2 and "drop --catalog" in out, out
    code, out = run("serve", "--from", str(tmp_path))  # alone: the folder's own error
    assert code == 2 and "dialect.json and catalog.json not found there" in one_line_error(out)


@pytest.mark.parametrize("bad", ["usd1234", "US", "", "U$D", "ДОЛ"])
def test_a_currency_is_three_letters(bad: str) -> None:
    code, out = run("serve", "--currency", bad)
    assert code == 2 and "is not a currency code" in out and "ISO 4217" in out, out


def test_a_lowercase_currency_is_read_in_capitals() -> None:
    assert currency_code("eur") == "EUR" and currency_code(" RUB ") == "RUB"


@pytest.mark.parametrize("command", [["record", "http://127.0.0.1:9/api/v2", "--out", "x"],
                                     ["conformance", "http://127.0.0.1:9/api/v2"]])
def test_a_missing_key_names_the_environment_variable(command: list[str]) -> None:
    code, out = run(*command, env={"MOCKPANEL_KEY": ""})
    assert code == 2 and "Missing option '--key'" in out and "MOCKPANEL_KEY" in out, out


def test_a_state_file_in_a_folder_that_does_not_exist(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "x.db"
    code, out = run("serve", "--state", str(path))
    line = one_line_error(out)
    assert code == 1 and f"the folder {path.parent} does not exist" in line and "not a directory" not in line


def test_catalog_generate_checks_its_output_folder_first(tmp_path: Path) -> None:
    target = tmp_path / "nowhere" / "catalog.json"
    code, out = run("catalog", "generate", "--services", "5", "-o", str(target))
    assert code == 2 and f"the folder {target.parent} does not exist" in one_line_error(out)
