"""One failing case per validator rule, each a single edit of VALID_PROFILE.

Every case asserts the exact `file:LINE:COL: error: key.path: message` lines
(positions are 1-based and point at the offending value, key or mapping as
written in the edited text) and that nothing else is reported.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, List, Tuple

import pytest

from conftest import VALID_PROFILE, Run
from memplan.loader import load_text
from memplan.validator import validate

POOLS = VALID_PROFILE[VALID_PROFILE.index("pools:\n"):VALID_PROFILE.index("sessions:\n")]
REGIONS = "  regions:\n    sram: {size: 128KiB}\n    ccm: {size: 64KiB}\n"

# (id, [(old, new), ...] applied once each to VALID_PROFILE, [expected "LINE:COL: error: ..." tails])
CASES: List[Tuple[str, List[Tuple[str, str]], List[str]]] = [
    # Ranges and multiples.
    ("block_size_zero", [("block_size: 256", "block_size: 0")],
     ["15:31: error: pools[1].block_size: must be > 0 (got 0)"]),
    ("block_size_not_multiple_of_8", [("block_size: 256", "block_size: 12")],
     ["15:31: error: pools[1].block_size: must be a multiple of 8 (got 12)"]),
    ("block_size_too_large", [("block_size: 256", "block_size: 2MiB")],
     ["15:31: error: pools[1].block_size: must be <= 1048576 (got 2097152)"]),
    ("count_too_large", [("count: 16", "count: 65536")],
     ["15:43: error: pools[1].count: must be <= 65535 (got 65536)"]),
    ("sessions_zero", [("  count: 8\n", "  count: 0\n")],
     ["19:10: error: sessions.count: must be > 0 (got 0)"]),
    ("key_slots_too_many", [("key_slots: 8", "key_slots: 256")],  # the runtime's init() refuses more than 255
     ["20:14: error: sessions.key_slots: must be <= 255 (got 256)"]),
    ("region_over_32_bits", [("    sram: {size: 128KiB}", "    sram: {size: 4194304KiB}")],
     ["8:18: error: target.regions.sram.size: must be <= 4294967295 (got 4294967296)"]),
    ("pool_over_32_bits", [("{name: large, block_size: 4096, count: 4,", "{name: large, block_size: 1048576, count: 4096,")],
     ["17:47: error: pools[3].count: 4096 blocks of 1048576 B are 4294967296 B, more than a 32-bit size holds (4294967295 B): "
      "a Cortex-M core cannot address the array"]),
    ("workspace_not_multiple_of_16", [("buffer_size: 2048", "buffer_size: 2040")],
     ["22:16: error: workspace.buffer_size: must be a multiple of 16, the AES block size (got 2040)"]),
    ("workspace_too_small", [("buffer_size: 2048", "buffer_size: 8")],
     ["22:16: error: workspace.buffer_size: must be >= 16 (got 8)"]),
    ("tag_size_11", [("tag_size: 16", "tag_size: 11")],
     ["25:13: error: crypto.tag_size: aes-256-gcm takes tags of 12 to 16 bytes (SP 800-38D) (got 11)"]),
    ("replay_window_65", [("max_security_violations: 5", "max_security_violations: 5\n  replay_window: 65")],
     ["29:18: error: crypto.replay_window: must be <= 64 (got 65)"]),
    ("replay_window_negative", [("max_security_violations: 5", "max_security_violations: 5\n  replay_window: -1")],
     ["29:18: error: crypto.replay_window: must be >= 0 (got -1)"]),
    ("tag_size_3", [("tag_size: 16", "tag_size: 3")],
     ["25:13: error: crypto.tag_size: must be >= 4 (got 3)"]),
    ("ccm_tag_odd", [("aes-256-gcm", "aes-128-ccm"), ("tag_size: 16", "tag_size: 9")],
     ["25:13: error: crypto.tag_size: aes-128-ccm takes even tags of 4 to 16 bytes (SP 800-38C) (got 9)"]),
    ("chachapoly_short_tag", [("aes-256-gcm", "chacha20-poly1305"), ("tag_size: 16", "tag_size: 12")],
     ["25:13: error: crypto.tag_size: chacha20-poly1305 takes the full 16-byte tag only (RFC 8439) (got 12)"]),
    ("ccm_nonce_too_long", [("aes-256-gcm", "aes-256-ccm"), ("fixed_size: 4", "fixed_size: 6")],
     ["26:10: error: crypto.nonce: fixed_size + counter_size must be 7 to 13 bytes, the aes-256-ccm nonce (got 6 + 8 = 14)"]),
    ("ccm_nonce_too_short", [("aes-256-gcm", "aes-256-ccm"), ("fixed_size: 4, counter_size: 8", "fixed_size: 2, counter_size: 4")],
     ["26:10: error: crypto.nonce: fixed_size + counter_size must be 7 to 13 bytes, the aes-256-ccm nonce (got 2 + 4 = 6)"]),
    ("chachapoly_nonce_13", [("aes-256-gcm", "chacha20-poly1305"), ("fixed_size: 4", "fixed_size: 5")],
     ["26:10: error: crypto.nonce: fixed_size + counter_size must be 12 bytes, the chacha20-poly1305 nonce (got 5 + 8 = 13)"]),
    ("tag_size_17", [("tag_size: 16", "tag_size: 17")],
     ["25:13: error: crypto.tag_size: must be <= 16 (got 17)"]),
    ("reserve_zero", [("reserve: 1024", "reserve: 0")],
     ["26:52: error: crypto.nonce.reserve: must be > 0 (got 0)"]),
    ("reserve_too_large", [("reserve: 1024", "reserve: 4294967296")],
     ["26:52: error: crypto.nonce.reserve: must be <= 4294967295 (got 4294967296)"]),
    ("fixed_plus_counter_not_12", [("fixed_size: 4", "fixed_size: 5")],
     ["26:10: error: crypto.nonce: fixed_size + counter_size must be 12 bytes, the aes-256-gcm nonce (got 5 + 8 = 13)"]),
    ("counter_size_too_small", [("fixed_size: 4, counter_size: 8", "fixed_size: 10, counter_size: 3")],
     ["26:23: error: crypto.nonce.fixed_size: must be <= 9 (got 10)",
      "26:41: error: crypto.nonce.counter_size: must be >= 4 (got 3)"]),
    ("max_messages_beyond_32_bit_counter",
     [("fixed_size: 4, counter_size: 8", "fixed_size: 8, counter_size: 4"),
      ("max_messages: 1000000", "max_messages: 4294967296")],
     ["27:28: error: crypto.rotation.max_messages: must be <= 4294967295 (got 4294967296)"]),
    ("max_messages_beyond_64_bit_counter", [("max_messages: 1000000", "max_messages: 18446744073709551616")],
     ["27:28: error: crypto.rotation.max_messages: must be <= 18446744073709551615 (got 18446744073709551616)"]),
    ("max_age_zero", [("max_age_s: 3600", "max_age_s: 0")],
     ["27:48: error: crypto.rotation.max_age_s: must be > 0 (got 0)"]),
    ("violations_256", [("max_security_violations: 5", "max_security_violations: 256")],
     ["28:28: error: crypto.max_security_violations: must be <= 255 (got 256)"]),
    ("cache_line_not_power_of_two", [("cache_line: 32", "cache_line: 48")],
     ["6:15: error: target.cache_line: must be a power of two (got 48)"]),
    ("cache_line_below_32", [("cache_line: 32", "cache_line: 16")],
     ["6:15: error: target.cache_line: must be >= 32 (got 16)"]),
    ("cache_line_above_256", [("cache_line: 32", "cache_line: 512")],
     ["6:15: error: target.cache_line: must be <= 256 (got 512)"]),
    ("schema_2", [("schema: 1", "schema: 2")],
     ["1:9: error: schema: unsupported schema 2 (this generator reads schema 1)"]),
    # Wrong types.
    ("schema_string", [("schema: 1", "schema: one")],
     ["1:9: error: schema: must be an integer (got str 'one')"]),
    ("count_float", [("count: 16", "count: 1.5")],
     ["15:43: error: '1.5' is written with a fraction or an exponent: numbers in a profile are decimal or 0x hex integers"]),
    ("count_bool", [("count: 16", "count: true")],
     ["15:43: error: pools[1].count: must be an integer (got bool True)"]),
    ("count_yes_is_text", [("count: 16", "count: yes")],  # YAML 1.1 would read True
     ["15:43: error: pools[1].count: must be an integer (got str 'yes')"]),
    ("count_octal", [("count: 16", "count: 016")],  # YAML 1.1 would read 14
     ["15:43: error: '016' is written with a leading zero (YAML 1.1 reads it as octal): numbers in a profile are decimal "
      "or 0x hex integers"]),
    ("count_octal_0o", [("count: 16", "count: 0o20")],
     ["15:43: error: '0o20' is written with an octal form: numbers in a profile are decimal or 0x hex integers"]),
    ("count_binary", [("count: 16", "count: 0b10000")],
     ["15:43: error: '0b10000' is written with a binary form: numbers in a profile are decimal or 0x hex integers"]),
    ("count_underscores", [("count: 16", "count: 1_6")],
     ["15:43: error: '1_6' is written with underscores: numbers in a profile are decimal or 0x hex integers"]),
    ("count_exponent", [("count: 16", "count: 16e0")],
     ["15:43: error: '16e0' is written with a fraction or an exponent: numbers in a profile are decimal or 0x hex integers"]),
    ("max_age_sexagesimal", [("max_age_s: 3600", "max_age_s: 1:00:00")],  # YAML 1.1 would read 3600
     ["27:48: error: '1:00:00' is written with a base-60 form (YAML 1.1 reads 1:00:00 as 3600): numbers in a profile are "
      "decimal or 0x hex integers"]),
    ("count_5000_digits", [("count: 16", "count: " + "9" * 5000)],  # Python cannot even read it (4300-digit limit)
     ["15:43: error: a number of 5000 digits: no value in a profile needs more than 40"]),
    ("count_infinity", [("count: 16", "count: .inf")],
     ["15:43: error: '.inf' is written with infinity or not-a-number: numbers in a profile are decimal or 0x hex integers"]),
    ("name_bool", [("name: demo", "name: true")],
     ["2:7: error: name: must be a string (got bool True)"]),
    ("count_quoted", [("count: 16", "count: '16'")],
     ["15:43: error: pools[1].count: must be an integer (got str '16')"]),
    ("block_size_list", [("block_size: 256", "block_size: [256]")],
     ["15:31: error: pools[1].block_size: must be a size in bytes (got a list)"]),
    ("target_list", [("target:\n  core: cortex-m4\n  cache_line: 32\n" + REGIONS, "target: [cortex-m4]\n")],
     ["4:9: error: target: must be a mapping (got a list)"]),
    ("pools_scalar", [(POOLS, "pools: 3\n")],
     ["13:8: error: pools: must be a list of pools (got int 3)"]),
    ("usage_scalar", [("usage: [message]}", "usage: message}")],
     ["15:54: error: pools[1].usage: must be a non-empty list of: key, nonce, message, context"]),
    ("description_number", [("description: test profile", "description: 42")],
     ["3:14: error: description: must be a string (got int 42)"]),
    ("name_null", [("name: demo", "name:")],
     ["2:6: error: name: must be a string (got nothing)"]),
    ("document_scalar", [(VALID_PROFILE, "just text\n")],
     ["1:1: error: <document>: must be a mapping (got str 'just text')"]),
    # Enums.
    ("core_unknown", [("cortex-m4", "cortex-a53")],
     ["5:9: error: target.core: must be one of cortex-m0, cortex-m0plus, cortex-m3, cortex-m4, cortex-m7, "
      "cortex-m33, host (got 'cortex-a53')"]),
    ("aead_unknown", [("aes-256-gcm", "aes-512-gcm")],
     ["24:9: error: crypto.aead: must be one of aes-128-gcm, aes-192-gcm, aes-256-gcm, aes-128-ccm, aes-256-ccm, "
      "chacha20-poly1305 (got 'aes-512-gcm')"]),
    ("usage_unknown", [("usage: [message]}", "usage: [mesage]}")],
     ["15:55: error: pools[1].usage[0]: must be one of key, nonce, message, context (got 'mesage')"]),
    ("usage_duplicate", [("usage: [key, nonce]", "usage: [key, key]")],
     ["14:58: error: pools[0].usage[1]: duplicate usage 'key'"]),
    ("usage_empty", [("usage: [message]}", "usage: []}")],
     ["15:54: error: pools[1].usage: must be a non-empty list of: key, nonce, message, context"]),
    # Booleans: true or false, nothing YAML 1.1 or a string reads as one.
    ("detect_yes", [("count: 8, usage: [message]}", "count: 8, usage: [message], detect_write_after_free: yes}")],
     ["16:91: error: pools[2].detect_write_after_free: must be true or false (got str 'yes')"]),
    ("detect_int", [("count: 8, usage: [message]}", "count: 8, usage: [message], detect_write_after_free: 1}")],
     ["16:91: error: pools[2].detect_write_after_free: must be true or false (got int 1)"]),
    ("detect_quoted", [("count: 8, usage: [message]}", "count: 8, usage: [message], detect_write_after_free: 'true'}")],
     ["16:91: error: pools[2].detect_write_after_free: must be true or false (got str 'true')"]),
    ("detect_list", [("count: 8, usage: [message]}", "count: 8, usage: [message], detect_write_after_free: [true]}")],
     ["16:91: error: pools[2].detect_write_after_free: must be true or false (got a list)"]),
    # Unknown, duplicate and missing keys.
    ("unknown_top_key", [("schema: 1\n", "schema: 1\ncolour: blue\n")],
     ["2:1: error: colour: unknown key (expected one of: schema, name, description, target, budget, pools, "
      "sessions, workspace, crypto, stack)"]),
    ("unknown_pool_key", [("count: 8, usage", "count: 8, colour: red, usage")],
     ["16:48: error: pools[2].colour: unknown key (expected one of: name, block_size, count, usage, region, detect_write_after_free)"]),
    ("unknown_nonce_key", [("reserve: 1024}", "reserve: 1024, salt: 1}")],
     ["26:58: error: crypto.nonce.salt: unknown key (expected one of: fixed_size, counter_size, reserve)"]),
    ("unknown_region_key", [("ccm: {size: 64KiB}", "ccm: {size: 64KiB, speed: fast}")],
     ["9:24: error: target.regions.ccm.speed: unknown key (expected one of: size, origin)"]),
    ("duplicate_top_key", [("schema: 1\n", "schema: 1\nschema: 1\n")],
     ["2:1: error: duplicate key 'schema' (first defined at line 1)"]),
    ("duplicate_flow_key", [("count: 16, usage", "count: 16, count: 17, usage")],
     ["15:47: error: duplicate key 'count' (first defined at line 15)"]),
    ("missing_tag_size", [("  tag_size: 16\n", "")],
     ["24:3: error: crypto.tag_size: missing required key"]),
    ("missing_sessions", [("sessions:\n  count: 8\n  key_slots: 8\n", "")],
     ["1:1: error: sessions: missing required key"]),
    ("missing_pool_count", [("block_size: 1024, count: 8, ", "block_size: 1024, ")],
     ["16:5: error: pools[2].count: missing required key"]),
    ("missing_region_size", [("ccm: {size: 64KiB}", "ccm: {bytes: 64KiB}")],
     ["9:10: error: target.regions.ccm.size: missing required key",
      "9:11: error: target.regions.ccm.bytes: unknown key (expected one of: size, origin)"]),
    # Names.
    ("name_uppercase", [("name: demo", "name: Demo")],
     ["2:7: error: name: a profile name must match ^[a-z_][a-z0-9_]*$ and have at most 32 characters (got 'Demo')"]),
    ("name_too_long", [("name: demo", "name: " + "a" * 33)],
     ["2:7: error: name: a profile name must match ^[a-z_][a-z0-9_]*$ and have at most 32 characters "
      "(got '" + "a" * 33 + "')"]),
    ("name_cpp_keyword", [("name: demo", "name: namespace")],
     ["2:7: error: name: 'namespace' is a C++ keyword"]),
    ("name_reserved", [("name: demo", "name: config")],
     ["2:7: error: name: 'config' is reserved by the generated header"]),
    ("pool_name_keyword", [("name: small", "name: int")],
     ["15:12: error: pools[1].name: 'int' is a C++ keyword"]),
    ("pool_name_dash", [("name: small", "name: sm-all")],
     ["15:12: error: pools[1].name: a pool name must match ^[a-z_][a-z0-9_]*$ and have at most 32 characters "
      "(got 'sm-all')"]),
    ("pool_name_duplicate", [("name: medium", "name: small")],
     ["16:12: error: pools[2].name: duplicate pool name 'small' (also pools[1])"]),
    ("region_name_invalid", [("    ccm: {size: 64KiB}", "    9ccm: {size: 64KiB}")],
     ["9:5: error: target.regions.9ccm: a region name must match ^[A-Za-z_][A-Za-z0-9_]*$ (got '9ccm')"]),
    ("regions_empty", [(REGIONS, "  regions: {}\n")],
     ["7:12: error: target.regions: must list at least one RAM region"]),
    # References between keys.
    ("pool_region_unknown", [("usage: [message]}", "usage: [message], region: flash}")],
     ["15:73: error: pools[1].region: unknown region 'flash' (target.regions has: sram, ccm)"]),
    ("workspace_region_unknown", [("buffer_size: 2048\n", "buffer_size: 2048\n  region: dtcm\n")],
     ["23:11: error: workspace.region: unknown region 'dtcm' (target.regions has: sram, ccm)"]),
    ("sessions_region_keyword", [("key_slots: 8\n", "key_slots: 8\n  region: new\n")],
     ["21:11: error: sessions.region: 'new' is a C++ keyword"]),
    ("budget_region_unknown", [("  ccm: 4KiB\n", "  ccm: 4KiB\n  itcm: 1KiB\n")],
     ["13:3: error: budget.itcm: unknown region 'itcm' (target.regions has: sram, ccm)"]),
    ("budget_larger_than_region", [("  ccm: 4KiB", "  ccm: 65KiB")],
     ["12:8: error: budget.ccm: budget 66560 B is larger than region 'ccm' (65536 B)"]),
    ("budget_missing_for_used_region", [("  ccm: 4KiB\n", "")],
     ["11:3: error: budget.ccm: missing: region 'ccm' holds pools[0] and needs a budget"]),
    ("budget_not_a_mapping", [("budget:\n  sram: 48KiB\n  ccm: 4KiB\n", "budget: 48KiB\n")],
     ["10:9: error: budget: must be a mapping (got str '48KiB')"]),
    # Crypto consistency.
    ("key_pool_too_small_for_aes_256", [("block_size: 64, count: 32", "block_size: 24, count: 32")],
     ["14:52: error: pools[0].usage: a key pool needs blocks of at least 32 B for aes-256-gcm (block_size is 24)"]),
    ("key_pool_too_small_for_aes_128",
     [("block_size: 64, count: 32", "block_size: 8, count: 32"), ("aes-256-gcm", "aes-128-gcm")],
     ["14:51: error: pools[0].usage: a key pool needs blocks of at least 16 B for aes-128-gcm (block_size is 8)"]),
    ("nonce_pool_below_12",
     [("usage: [key, nonce]", "usage: [nonce]"), ("block_size: 64, count: 32", "block_size: 8, count: 32")],
     ["14:51: error: pools[0].usage: a nonce pool needs blocks of at least 12 B (block_size is 8)"]),
    # Pools list.
    ("pools_empty", [(POOLS, "pools: []\n")],
     ["13:8: error: pools: must list at least one pool"]),
    # Size strings.
    ("size_kb_unit", [("sram: {size: 128KiB}", "sram: {size: 12 KB}")],
     ["8:18: error: target.regions.sram.size: not a size: '12 KB' (use bytes or a unit: B, KiB, MiB)"]),
    ("size_negative", [("  sram: 48KiB", "  sram: -4")],
     ["11:9: error: budget.sram: must be > 0 (got -4)"]),
    ("size_negative_string", [("  sram: 48KiB", "  sram: '-4'")],
     ["11:9: error: budget.sram: not a size: '-4' (use bytes or a unit: B, KiB, MiB)"]),
    ("size_fraction", [("  sram: 48KiB", "  sram: 1.5KiB")],
     ["11:9: error: budget.sram: not a size: '1.5KiB' (use bytes or a unit: B, KiB, MiB)"]),
    ("size_float", [("  sram: 48KiB", "  sram: 1.5")],
     ["11:9: error: '1.5' is written with a fraction or an exponent: numbers in a profile are decimal or 0x hex integers"]),
    ("size_lowercase_unit", [("  sram: 48KiB", "  sram: 48kib")],
     ["11:9: error: budget.sram: not a size: '48kib' (use bytes or a unit: B, KiB, MiB)"]),
    ("description_two_lines", [("description: test profile", 'description: "two\\nlines"')],
     ["3:14: error: description: must be one line without control characters (got 'two\\nlines')"]),
]


def _edit(text: str, edits: List[Tuple[str, str]]) -> str:
    for old, new in edits:
        assert text.count(old) >= 1, old
        text = text.replace(old, new, 1)
    return text


def test_the_base_profile_is_valid(write_profile: Callable[..., Path], cli: Callable[..., Run]) -> None:
    path = write_profile(VALID_PROFILE)
    run = cli("check", path)
    assert (run.code, run.err) == (0, "")
    assert run.out == f"{path}: ok: sram 44640/49152 B, ccm 2368/4096 B\n"


@pytest.mark.parametrize("edits, expected", [(e, x) for _, e, x in CASES], ids=[c[0] for c in CASES])
def test_rule(write_profile: Callable[..., Path], cli: Callable[..., Run], edits: List[Tuple[str, str]],
              expected: List[str]) -> None:
    path = write_profile(_edit(VALID_PROFILE, edits))
    run = cli("check", path)
    assert run.code == 1
    assert run.out == ""
    assert run.err.splitlines() == [f"{path}:{line}" for line in expected]


def test_case_ids_are_unique() -> None:
    ids = [c[0] for c in CASES]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("text", ["131072", "0x20000", "'131072'", "' 128 KiB '", "128KiB", "131072B", "'131072 B'"])
def test_size_spellings_that_are_accepted(write_profile: Callable[..., Path], cli: Callable[..., Run],
                                          text: str) -> None:
    path = write_profile(VALID_PROFILE.replace("sram: {size: 128KiB}", f"sram: {{size: {text}}}"))
    run = cli("report", path, "--format", "json")
    assert run.code == 0, run.err
    sizes = {r["name"]: r["size"] for r in json.loads(run.out)["regions"]}
    assert sizes["sram"] == 131072


def test_all_errors_are_reported_at_once(write_profile: Callable[..., Path], cli: Callable[..., Run]) -> None:
    text = _edit(VALID_PROFILE, [("block_size: 256", "block_size: 0"), ("tag_size: 16", "tag_size: 17"),
                                 ("name: demo", "name: Demo")])
    path = write_profile(text)
    run = cli("check", path)
    assert run.code == 1 and run.out == ""
    assert run.err.splitlines() == [
        f"{path}:2:7: error: name: a profile name must match ^[a-z_][a-z0-9_]*$ and have at most 32 characters "
        "(got 'Demo')",
        f"{path}:15:31: error: pools[1].block_size: must be > 0 (got 0)",
        f"{path}:25:13: error: crypto.tag_size: must be <= 16 (got 17)",
    ]


def test_errors_of_every_profile_are_reported(write_profile: Callable[..., Path], cli: Callable[..., Run]) -> None:
    first = write_profile(_edit(VALID_PROFILE, [("tag_size: 16", "tag_size: 17")]), "a.yaml")
    second = write_profile(_edit(VALID_PROFILE, [("name: demo", "name: other"), ("count: 16", "count: 0")]), "b.yaml")
    run = cli("check", first, second)
    assert run.code == 1
    assert run.err.splitlines() == [
        f"{first}:25:13: error: crypto.tag_size: must be <= 16 (got 17)",
        f"{second}:15:43: error: pools[1].count: must be > 0 (got 0)",
    ]


def test_write_after_free_detection_defaults_to_pools_that_hold_secrets() -> None:
    profile = validate(load_text(VALID_PROFILE, "x.yaml"), "x.yaml")
    assert {p.name: p.detect_write_after_free for p in profile.pools} == {
        "tiny": True, "small": False, "medium": False, "large": False,  # tiny: key and nonce
    }
    text = VALID_PROFILE.replace("usage: [key, nonce]", "usage: [key, nonce], detect_write_after_free: false")
    text = text.replace("count: 8, usage: [message]}", "count: 8, usage: [message], detect_write_after_free: true}")
    explicit = validate(load_text(text, "x.yaml"), "x.yaml")
    assert {p.name: p.detect_write_after_free for p in explicit.pools} == {
        "tiny": False, "small": False, "medium": True, "large": False,
    }


def test_region_origins_and_the_flash_are_read(write_profile: Callable[..., Path]) -> None:
    from memplan.model import Flash
    from memplan.validator import load_profile

    text = _edit(VALID_PROFILE, [("    sram: {size: 128KiB}", "    sram: {size: 128KiB, origin: 0x20000000}"),
                                 ("    ccm: {size: 64KiB}", "    ccm: {size: 64KiB}\n  flash: {origin: 0x08000000, size: 1MiB}")])
    target = load_profile(str(write_profile(text)))[0].target
    assert target.origins == {"sram": 0x20000000}  # ccm states none: check-elf holds only what is stated
    assert target.flash == Flash(0x08000000, 1 << 20)
    plain = load_profile(str(write_profile(VALID_PROFILE, "plain.yaml")))[0].target
    assert (plain.origins, plain.flash) == ({}, None)
