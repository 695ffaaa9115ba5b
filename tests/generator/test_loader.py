"""The profile loader: YAML syntax, one document, and everything a profile
never needs and an attacker could abuse (aliases, merge keys, custom tags,
deep nesting, huge or binary files) is refused with a positioned error."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest

from conftest import VALID_PROFILE, Run
from memplan import loader
from memplan.diagnostics import Position, ProfileError
from memplan.loader import YList, YMap, YScalar, load_text

BILLION_LAUGHS = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def check(write_profile: Callable[..., Path], cli: Callable[..., Run], data, name: str = "demo.yaml") -> Run:
    path = write_profile(data, name)
    run = cli("check", path)
    assert run.code == 1, run
    assert run.out == ""
    assert "Traceback" not in run.err
    return Run(run.code, run.out, run.err.replace(str(path), "F"))


@pytest.mark.parametrize(
    "text, expected",
    [
        ("schema: 1\n  name: x\n", "F:2:7: error: invalid YAML: mapping values are not allowed here"),
        ("schema: 1\nname: [unclosed\n", "F:3:1: error: invalid YAML: expected ',' or ']', but got '<stream end>'"),
        ("schema: 1\n\tname: x\n", "F:2:1: error: invalid YAML: found character '\\t' that cannot start any token"),
        ('name: "abc\n', "F:2:1: error: invalid YAML: found unexpected end of stream"),
        ("- a\nb: c\n", "F:2:1: error: invalid YAML: expected <block end>, but found '?'"),
    ],
    ids=["indented_key", "unclosed_flow", "tab", "unclosed_quote", "list_then_mapping"],
)
def test_syntax_errors_point_at_line_and_column(write_profile, cli, text: str, expected: str) -> None:
    assert check(write_profile, cli, text).err.splitlines() == [expected]


@pytest.mark.parametrize("text", ["", "\n\n", "# only\n# comments\n", "   \n# x\n"],
                         ids=["empty", "blank", "comments", "spaces"])
def test_empty_profiles(write_profile, cli, text: str) -> None:
    assert check(write_profile, cli, text).err == "F:1:1: error: empty profile: expected a mapping with 'schema: 1'\n"


def test_an_empty_document_is_not_a_mapping(write_profile, cli) -> None:
    assert check(write_profile, cli, "---\n").err == "F:2:1: error: <document>: must be a mapping (got nothing)\n"


def test_multiple_documents(write_profile, cli) -> None:
    run = check(write_profile, cli, VALID_PROFILE + "---\nschema: 1\n")
    assert run.err == "F:29:1: error: a profile holds exactly one YAML document\n"


def test_an_explicit_document_with_end_marker_is_fine(write_profile, cli) -> None:
    path = write_profile("%YAML 1.1\n---\n" + VALID_PROFILE + "...\n")
    assert cli("check", path).code == 0


def test_billion_laughs_is_refused_at_the_first_alias(write_profile, cli) -> None:
    assert check(write_profile, cli, BILLION_LAUGHS).err == "F:2:8: error: YAML aliases are not allowed in a profile\n"


def test_alias_inside_a_valid_profile(write_profile, cli) -> None:
    text = VALID_PROFILE.replace("count: 16", "count: &n 16").replace("count: 8, usage", "count: *n, usage")
    assert check(write_profile, cli, text).err == "F:16:45: error: YAML aliases are not allowed in a profile\n"


def test_an_anchor_alone_is_harmless(write_profile, cli) -> None:
    path = write_profile(VALID_PROFILE.replace("count: 16", "count: &n 16"))
    assert cli("check", path).code == 0


def test_merge_keys_are_refused(write_profile, cli) -> None:
    text = VALID_PROFILE.replace("sessions:\n  count: 8\n", "sessions:\n  <<: {count: 8}\n")
    run = check(write_profile, cli, text)
    assert run.err.splitlines()[0] == "F:19:3: error: YAML merge keys ('<<') are not allowed in a profile"


@pytest.mark.parametrize(
    "value, tag",
    [
        ("!!python/object/apply:os.system ['touch {marker}']", "tag:yaml.org,2002:python/object/apply:os.system"),
        ("!!python/object:builtins.dict {{}}", "tag:yaml.org,2002:python/object:builtins.dict"),
        ("!!python/name:os.system", "tag:yaml.org,2002:python/name:os.system"),
        ("!local x", "!local"),
        ("!!binary aGVsbG8=", "tag:yaml.org,2002:binary"),
        ("!!set {{a, b}}", "tag:yaml.org,2002:set"),
    ],
    ids=["python_apply", "python_object", "python_name", "local", "binary", "set"],
)
def test_custom_tags_are_refused(write_profile, cli, tmp_path: Path, value: str, tag: str) -> None:
    marker = tmp_path / "executed"
    text = VALID_PROFILE.replace("description: test profile", "description: " + value.format(marker=marker))
    run = check(write_profile, cli, text)
    assert run.err == f"F:3:14: error: unsupported YAML tag '{tag}'\n"
    assert not marker.exists()


def test_implicit_timestamps_are_not_numbers(write_profile, cli) -> None:
    run = check(write_profile, cli, VALID_PROFILE.replace("max_age_s: 3600", "max_age_s: 2024-01-01"))
    assert run.err == "F:27:48: error: unsupported YAML tag 'tag:yaml.org,2002:timestamp'\n"


@pytest.mark.parametrize(
    "prefix, column",
    [("1: x\n", 1), ("~: x\n", 1), ("yes: x\n", 1), ("? [a]\n: x\n", 3)],
    ids=["int", "null", "bool", "sequence"],
)
def test_keys_must_be_plain_strings(write_profile, cli, prefix: str, column: int) -> None:
    run = check(write_profile, cli, prefix + VALID_PROFILE)
    assert run.err == f"F:1:{column}: error: mapping keys must be plain strings\n"


def test_duplicate_keys_everywhere_are_all_reported(write_profile, cli) -> None:
    text = VALID_PROFILE.replace("name: demo\n", "name: demo\nname: again\n")
    text = text.replace("count: 16,", "count: 16, count: 2,")
    run = check(write_profile, cli, text)
    assert run.err.splitlines() == [
        "F:3:1: error: duplicate key 'name' (first defined at line 2)",
        "F:16:47: error: duplicate key 'count' (first defined at line 16)",
    ]


def test_unreadable_scalar(write_profile, cli) -> None:
    run = check(write_profile, cli, VALID_PROFILE.replace("count: 16", "count: !!int abc"))
    assert run.err == "F:15:43: error: cannot read int value 'abc'\n"


@pytest.mark.parametrize(
    "text",
    [
        "[" * 10000 + "]" * 10000,
        "{a: " * 10000 + "1" + "}" * 10000,
        "".join(" " * i + "k:\n" for i in range(1000)) + " " * 1000 + "1\n",
        "".join(" " * (2 * i) + "- \n" for i in range(500)),
    ],
    ids=["flow_lists", "flow_mappings", "block_mappings", "block_lists"],
)
def test_deep_nesting_is_refused(write_profile, cli, text: str) -> None:
    run = check(write_profile, cli, text)
    lines = run.err.splitlines()
    assert len(lines) == 1 and lines[0].endswith(f"error: nesting deeper than {loader.MAX_DEPTH} levels")


def test_deep_nesting_in_a_subprocess_has_no_traceback(write_profile, cli_subprocess) -> None:
    path = write_profile("[" * 100000 + "]" * 100000)
    run = cli_subprocess("check", path, timeout=60)
    assert run.code == 1
    assert "Traceback" not in run.err and "RecursionError" not in run.err
    assert run.err == f"{path}:1:17: error: nesting deeper than {loader.MAX_DEPTH} levels\n"


def test_sixteen_levels_are_allowed_by_the_loader() -> None:
    # The schema needs 4 levels; the guard is generous but finite.
    text = "a: " + "[" * (loader.MAX_DEPTH - 1) + "]" * (loader.MAX_DEPTH - 1) + "\n"
    tree = load_text(text, "x.yaml")
    assert isinstance(tree, YMap)
    with pytest.raises(ProfileError):
        load_text("a: " + "[" * loader.MAX_DEPTH + "]" * loader.MAX_DEPTH + "\n", "x.yaml")


def test_non_utf8_bytes(write_profile, cli) -> None:
    data = VALID_PROFILE.replace("test profile", "caf\xe9").encode("latin-1")
    run = check(write_profile, cli, data)
    assert run.err == "F: error: not UTF-8 text: invalid continuation byte at byte 37\n"


def test_utf16_is_not_utf8(write_profile, cli) -> None:
    run = check(write_profile, cli, VALID_PROFILE.encode("utf-16"))
    assert run.err == "F: error: not UTF-8 text: invalid start byte at byte 0\n"


def test_nul_bytes(write_profile, cli) -> None:
    run = check(write_profile, cli, VALID_PROFILE.encode() + b"\x00")
    assert run.err == "F: error: file contains NUL bytes; not a YAML profile\n"


def test_huge_file(write_profile, cli) -> None:
    run = check(write_profile, cli, VALID_PROFILE + "# " + "x" * (loader.MAX_BYTES + 1) + "\n")
    assert run.err == f"F: error: file is larger than {loader.MAX_BYTES} bytes; a profile is a few hundred\n"


def test_a_file_of_exactly_the_limit_is_read(write_profile, cli) -> None:
    padding = loader.MAX_BYTES - len(VALID_PROFILE) - 2
    path = write_profile(VALID_PROFILE + "#" + "x" * padding + "\n")
    assert path.stat().st_size == loader.MAX_BYTES
    assert cli("check", path).code == 0


def test_utf8_bom_and_crlf_are_accepted_with_right_positions(write_profile, cli) -> None:
    data = b"\xef\xbb\xbf" + VALID_PROFILE.replace("\n", "\r\n").replace("tag_size: 16", "tag_size: 17").encode()
    run = check(write_profile, cli, data)
    assert run.err == "F:25:13: error: crypto.tag_size: must be <= 16 (got 17)\n"


def test_tree_positions_and_types() -> None:
    tree = load_text(VALID_PROFILE, "x.yaml")
    assert isinstance(tree, YMap) and tree.position == Position(1, 1)
    key_pos, pools = tree.entries["pools"]
    assert key_pos == Position(13, 1) and isinstance(pools, YList) and pools.position == Position(14, 3)
    small = pools.items[1]
    assert isinstance(small, YMap) and small.position == Position(15, 5)
    key_pos, block = small.entries["block_size"]
    assert key_pos == Position(15, 19)
    assert block == YScalar(256, Position(15, 31), "int")
    _, sram = tree.entries["budget"][1].entries["sram"]
    assert sram == YScalar("48KiB", Position(11, 9), "str")
