"""crypto.tables: mbedTLS's lookup tables as profile choices. One mbedTLS build
has one choice, so `memplan mbedtls PROFILE...` (what the CMake functions ask)
prints the macros every profile agrees on, or names each profile that
disagrees at its line and column; the plan sizes the key slots and reports
the tables' RAM and flash."""

from __future__ import annotations

import json
import re
from typing import Callable, List

import pytest

from conftest import VALID_PROFILE
from memplan.mbedtls_build import AES_TABLES, PLANNED_MACRO, build_options
from memplan.model import AES_TABLE_CHOICES, GCM_TABLE_CHOICES
from memplan.planner import plan
from memplan.target_abi import abi_for
from memplan.validator import load_profile

GCM = VALID_PROFILE.replace("  sram: 48KiB", "  sram: 100KiB")


def with_tables(text: str, tables: str, aead: str = "aes-256-gcm", name: str = "demo") -> str:
    """The profile with `crypto.tables: TABLES` (no line when empty) and another AEAD and name."""
    nonce = "{fixed_size: 5, counter_size: 8, reserve: 1024}" if aead.endswith("ccm") else "{fixed_size: 4, counter_size: 8, reserve: 1024}"
    tag = "8" if aead.endswith("ccm") else "16"
    out = text.replace("name: demo", f"name: {name}").replace("aead: aes-256-gcm", f"aead: {aead}")
    out = out.replace("tag_size: 16", f"tag_size: {tag}").replace("{fixed_size: 4, counter_size: 8, reserve: 1024}", nonce)
    return out.replace("  max_security_violations: 5\n", f"  max_security_violations: 5\n  tables: {tables}\n" if tables else
                       "  max_security_violations: 5\n")


@pytest.fixture
def profiles(write_profile) -> Callable[..., List[str]]:
    def make(*specs: tuple) -> List[str]:
        return [str(write_profile(with_tables(GCM, *spec[1:], name=spec[0]), f"{spec[0]}.yaml")) for spec in specs]
    return make


def test_without_profiles_the_defaults(cli) -> None:
    run = cli("mbedtls")
    assert run.code == 0 and run.out.split() == [PLANNED_MACRO, "MBEDTLS_AES_ROM_TABLES", "MBEDTLS_AES_FEWER_TABLES"]


@pytest.mark.parametrize("aes", AES_TABLE_CHOICES)
@pytest.mark.parametrize("gcm", GCM_TABLE_CHOICES)
def test_each_choice_gives_its_macros(cli, profiles, aes: str, gcm: str) -> None:
    run = cli("mbedtls", *profiles(("p", f"{{aes: {aes}, gcm: {gcm}}}")))
    assert run.code == 0, run.err
    macros = set(run.out.split())
    assert PLANNED_MACRO in macros
    assert ("MBEDTLS_AES_ROM_TABLES" in macros) == aes.startswith("flash")
    assert ("MBEDTLS_AES_FEWER_TABLES" in macros) == aes.endswith("compact")
    assert ("MBEDTLS_GCM_LARGE_TABLE" in macros) == (gcm == "8-bit")


def test_profiles_that_agree_share_a_build(cli, profiles) -> None:
    paths = profiles(("a", "{gcm: 8-bit, aes: flash-full}"), ("b", "{aes: flash-full, gcm: 8-bit}"),
                     ("c", "{aes: flash-full}", "aes-128-ccm"), ("d", "", "chacha20-poly1305"))
    run = cli("mbedtls", *paths)
    assert run.code == 0, run.err
    assert run.out.split() == [PLANNED_MACRO, "MBEDTLS_AES_ROM_TABLES", "MBEDTLS_GCM_LARGE_TABLE"]


def test_a_profile_without_gcm_does_not_constrain_the_gcm_table(cli, profiles) -> None:
    run = cli("mbedtls", *profiles(("ccm", "", "aes-128-ccm"), ("gcm", "{gcm: 8-bit}")))
    assert run.code == 0 and "MBEDTLS_GCM_LARGE_TABLE" in run.out.split()


def test_chacha_alone_constrains_nothing(cli, profiles) -> None:
    run = cli("mbedtls", *profiles(("chacha", "", "chacha20-poly1305")))
    assert run.code == 0 and run.out.split() == [PLANNED_MACRO, "MBEDTLS_AES_ROM_TABLES", "MBEDTLS_AES_FEWER_TABLES"]


def test_profiles_that_disagree_are_named_at_their_keys(cli, profiles) -> None:
    first, second, third = profiles(("first", "{gcm: 8-bit}"), ("second", "{gcm: 4-bit, aes: ram-full}"), ("third", ""))
    run = cli("mbedtls", first, second, third)
    assert run.code == 1 and run.out == ""
    lines = run.err.splitlines()
    line = GCM.count("\n", 0, GCM.index("  max_security_violations")) + 2  # the tables line after it
    assert any(re.fullmatch(rf"{re.escape(second)}:{line}:\d+: error: crypto\.tables\.gcm: 4-bit here, but {re.escape(first)} \(first\) has "
                            r"8-bit: one mbedTLS build has one choice of GCM table, so the products linked into one build must agree "
                            r"\(or build them separately\)", text) for text in lines), run.err
    assert any(text.startswith(f"{second}:{line}:") and "crypto.tables.aes: ram-full here" in text and "flash-compact (the default)" in text
               for text in lines), run.err
    # A profile that leaves the key out is pointed at by its AEAD.
    aead_line = GCM.count("\n", 0, GCM.index("  aead:")) + 1
    assert any(text.startswith(f"{third}:{aead_line}:") and "crypto.tables.gcm: 4-bit here" in text for text in lines), run.err


def test_a_bad_profile_stops_it_with_its_own_error(cli, write_profile) -> None:
    path = write_profile(with_tables(GCM, "{gcm: 16-bit}"))
    run = cli("mbedtls", path)
    assert run.code == 1 and run.out == ""
    assert re.search(r"demo\.yaml:\d+:\d+: error: crypto\.tables\.gcm: must be one of 4-bit, 8-bit \(got '16-bit'\)", run.err)


def test_ignore_invalid_leaves_a_bad_profile_to_the_build(cli, write_profile, profiles) -> None:
    """CMake asks at configure time; a bad profile's errors belong to the build's generate step."""
    bad = write_profile(with_tables(GCM, "{gcm: 16-bit}"), "bad.yaml")
    good = profiles(("good", "{gcm: 8-bit}"))
    run = cli("mbedtls", "--ignore-invalid", bad, *good)
    assert run.code == 0 and run.err == "" and "MBEDTLS_GCM_LARGE_TABLE" in run.out.split()


def test_a_missing_profile_is_a_usage_error(cli, tmp_path) -> None:
    run = cli("mbedtls", tmp_path / "missing.yaml")
    assert run.code == 2 and "cannot read profile" in run.err


@pytest.mark.parametrize("tables, aead, message", [
    ("{gcm: 8-bit}", "aes-128-ccm", "crypto.tables.gcm: aes-128-ccm has no GCM tables; remove this key"),
    ("{gcm: 4-bit}", "chacha20-poly1305", "crypto.tables.gcm: chacha20-poly1305 has no GCM tables; remove this key"),
    ("{aes: flash-full}", "chacha20-poly1305", "crypto.tables.aes: chacha20-poly1305 has no AES tables; remove this key"),
    ("{aes: rom}", "aes-128-gcm", "crypto.tables.aes: must be one of flash-compact, flash-full, ram-compact, ram-full (got 'rom')"),
    ("{aes: 4}", "aes-128-gcm", "crypto.tables.aes: must be"),
    ("{large: true}", "aes-128-gcm", "crypto.tables.large: unknown key (expected one of: aes, gcm)"),
    ("8-bit", "aes-128-gcm", "crypto.tables: must be a mapping"),
    ("[aes, gcm]", "aes-128-gcm", "crypto.tables: must be a mapping"),
])
def test_bad_tables_are_refused_at_their_position(cli, write_profile, tables: str, aead: str, message: str) -> None:
    text = with_tables(GCM, tables, aead)
    path = write_profile(text)
    run = cli("check", path)
    assert run.code == 1, run.out
    line = text.count("\n", 0, text.index("  tables:")) + 1
    assert any(e.startswith(f"{path}:{line}:") and message in e for e in run.err.splitlines()), run.err


@pytest.mark.parametrize("core", ["cortex-m4", "host"])
def test_the_8_bit_table_is_planned_in_every_key_slot(write_profile, core: str) -> None:
    four, _ = load_profile(str(write_profile(with_tables(GCM, "{gcm: 4-bit}"), "four.yaml")))
    eight, _ = load_profile(str(write_profile(with_tables(GCM, "{gcm: 8-bit}"), "eight.yaml")))
    slots = four.sessions.key_slots
    plans = [plan(four), plan(eight)]
    if core == "host":
        plans = [p.host for p in plans]  # type: ignore[misc]
    sizes = [next(o.size for r in p.regions for o in r.objects if o.key == "sessions.key_slots") for p in plans]  # type: ignore[union-attr]
    abi = abi_for(core)
    assert sizes == [abi.gcm_context[0] * slots, abi.gcm_large_table_context[0] * slots]
    assert sizes[1] - sizes[0] == (256 - 16) * 16 * slots  # 240 more 16-byte entries per GHASH table


def test_the_8_bit_table_counts_against_the_budget(cli, write_profile) -> None:
    path = write_profile(with_tables(VALID_PROFILE, "{gcm: 8-bit}"))
    run = cli("check", path)
    assert run.code == 1
    assert re.search(r"budget\.sram: region 'sram' needs \d+ B but its budget is 49152 B .*sessions\.key_slots \(key_slots\) 35648 B", run.err)


@pytest.mark.parametrize("choice", AES_TABLE_CHOICES)
def test_the_report_shows_the_tables_ram_and_flash(cli, write_profile, choice: str) -> None:
    path = write_profile(with_tables(GCM, f"{{aes: {choice}, gcm: 8-bit}}"))
    report = json.loads(cli("report", path, "--format", "json").out)["mbedtls"]
    tables = AES_TABLES[choice]
    expected_bytes = 256 + (1 if choice.endswith("compact") else 4) * 1024 + 40
    assert tables.bytes == expected_bytes
    assert report == {"aes_tables": choice, "aes_tables_ram": expected_bytes if choice.startswith("ram") else 0,
                      "aes_tables_flash": 0 if choice.startswith("ram") else expected_bytes, "gcm_table": "8-bit",
                      "gcm_table_per_key_slot": 4096}
    markdown = cli("report", path, "--format", "md").out
    assert re.search(rf"^\| AES \| `crypto.tables.aes` \| {choice} \| {report['aes_tables_ram']} B \| {report['aes_tables_flash']} B \|",
                     markdown, re.M), markdown
    assert re.search(r"^\| GHASH \| `crypto.tables.gcm` \| 8-bit \| 32768 B \| 0 B \| 4096 B inside each of the 8 key slots", markdown, re.M)


def test_chacha_reports_no_tables(cli, write_profile) -> None:
    path = write_profile(with_tables(GCM, "", "chacha20-poly1305"))
    assert json.loads(cli("report", path, "--format", "json").out)["mbedtls"] == {
        "aes_tables": None, "aes_tables_ram": 0, "aes_tables_flash": 0, "gcm_table": None, "gcm_table_per_key_slot": 0}
    assert "mbedTLS tables" not in cli("report", path, "--format", "md").out


def test_build_options_is_the_first_choice_when_all_agree(write_profile) -> None:
    loaded = [load_profile(str(write_profile(with_tables(GCM, "{aes: ram-compact}", name=n), f"{n}.yaml")))[0] for n in ("x", "y")]
    options = build_options(loaded)
    assert (options.aes_tables, options.gcm_table) == ("ram-compact", "4-bit")
    assert options.macros == (PLANNED_MACRO, "MBEDTLS_AES_FEWER_TABLES")
