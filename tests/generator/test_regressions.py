"""Generator bugs found while writing these tests, each pinned by a test.

1. Names matched with `re.match` and a trailing `$`, which also accepts a
   final newline: `name: "demo\\n"` became a namespace and a directory name
   with a newline in them.
2. The description is printed into a `//` comment of layout.hpp; a line break
   in it turned the rest of the description into C++ code.
3. The size limit was checked on the decoded text after reading at most
   MAX_BYTES + 1 bytes: a file of multi-byte characters larger than the limit
   was silently truncated, and the truncated profile accepted.
4. Pool and region names are pasted into symbol names; two different names
   could paste into the same C++ or linker symbol (pools `tiny` and
   `tiny_storage`, a pool named `list`, a region named `workspace`), and the
   header failed to compile or the linker fragment reused a symbol.
5. `generate --out` naming a file (or an unwritable directory) ended in a
   Python traceback instead of a usage error.
6. A raw control character (ESC, form feed, DEL, ...) anywhere in a profile
   ended in a traceback: PyYAML's reader refuses them when the loader is
   constructed, which happened outside the error handling (found by
   test_properties.py).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable, List, Tuple

import pytest

from conftest import VALID_PROFILE, Run
from memplan import loader

# 1. Trailing newlines in names ------------------------------------------------------


@pytest.mark.parametrize(
    "old, new, expected",
    [
        ("name: demo", 'name: "demo\\n"', "2:7: error: name: a profile name must match"),
        ("name: small", 'name: "small\\n"', "15:12: error: pools[1].name: a pool name must match"),
        ("usage: [message]}", 'usage: [message], region: "ccm\\n"}', "15:73: error: pools[1].region: a region name"),
        # A mapping key with a line break is refused by the loader, before it can split a diagnostic line.
        ("    ccm: {size: 64KiB}", '    "ccm\\n": {size: 64KiB}', "9:5: error: mapping key 'ccm\\n' contains control characters"),
    ],
    ids=["profile", "pool", "region_reference", "region"],
)
def test_names_with_a_trailing_newline_are_refused(write_profile, tmp_path: Path, cli: Callable[..., Run],
                                                   old: str, new: str, expected: str) -> None:
    path = write_profile(VALID_PROFILE.replace(old, new, 1))
    run = cli("generate", path, "--out", tmp_path / "out")
    assert run.code == 1
    assert run.err.startswith(f"{path}:{expected}")
    assert not (tmp_path / "out").exists()


# 2. Descriptions stay one comment line ----------------------------------------------------


@pytest.mark.parametrize("description", ['"two\\nlines"', '"cr\\ronly"', '"bell\\a"', "|\n  block\n  scalar"])
def test_multi_line_descriptions_are_refused(write_profile, cli: Callable[..., Run], description: str) -> None:
    path = write_profile(VALID_PROFILE.replace("description: test profile", f"description: {description}"))
    run = cli("check", path)
    assert run.code == 1
    assert run.err.startswith(f"{path}:3:14: error: description: must be one line without control characters")


def test_a_one_line_description_is_printed_verbatim(write_profile, tmp_path: Path, cli: Callable[..., Run]) -> None:
    text = "Gateway \u00e9 \t<b>&amp; C:\\keys\\ * / *"  # backslashes mid-line are harmless in both comments
    quoted = text.replace("\\", "\\\\").replace("\t", "\\t")
    path = write_profile(VALID_PROFILE.replace("description: test profile", f'description: "{quoted}"'))
    assert cli("generate", path, "--out", tmp_path).code == 0
    header = (tmp_path / "demo" / "layout.hpp").read_text(encoding="utf-8").splitlines()
    assert header[3] == f"// Profile 'demo': {text}"
    assert header[4].startswith("// Target cortex-m4")


@pytest.mark.parametrize("description, message", [
    ("ends in a backslash \\\\", "must not end with a backslash: it would continue the generated header's comment onto the next line"),
    ("ends in a backslash and blanks \\\\ \\t ", "must not end with a backslash"),
    ("closes */ the fragment's comment", "must not contain '*/': it would end the linker fragment's comment"),
    ("a lone \\ud800 surrogate", "has a lone surrogate ('\\ud800'), which no UTF-8 file can hold"),
], ids=["trailing_backslash", "trailing_backslash_and_blanks", "comment_end", "lone_surrogate"])
def test_a_description_that_would_break_a_generated_file_is_refused(write_profile, tmp_path: Path, cli: Callable[..., Run],
                                                                    description: str, message: str) -> None:
    """Each was accepted before: the backslash spliced the header's next line into the comment, the
    surrogate crashed generate and report while check said ok."""
    path = write_profile(VALID_PROFILE.replace("description: test profile", f'description: "{description}"'))
    for command in (("check", path), ("generate", path, "--out", tmp_path / "out"), ("report", path)):
        run = cli(*command)
        assert (run.code, run.out) == (1, "")
        assert run.err.startswith(f"{path}:3:14: error: description: ") and message in run.err, run.err
    assert not (tmp_path / "out").exists()


def test_a_file_name_with_a_line_break_is_escaped_in_generated_comments(tmp_path: Path, cli: Callable[..., Run]) -> None:
    path = tmp_path / "new\nline.yaml"
    path.write_text(VALID_PROFILE, encoding="utf-8")
    assert cli("generate", path, "--out", tmp_path / "out").code == 0
    for name in ("layout.hpp", "layout.ld"):
        lines = (tmp_path / "out" / "demo" / name).read_text(encoding="utf-8").splitlines()
        assert "regenerate with `memplan generate new\\nline.yaml`." in lines[1], lines[1]


# 3. Size limit counted in bytes ----------------------------------------------------------------


@pytest.mark.parametrize("pad", [0, 1])
def test_a_large_file_of_multibyte_characters_is_refused(write_profile, cli: Callable[..., Run], pad: int) -> None:
    # 1.4 MB: the first MAX_BYTES + 1 bytes end on a character boundary for one of the two paddings.
    data = (VALID_PROFILE + "#" + " " * pad + "\u00e9" * 700_000 + "\nschema: [trailing, garbage]\n").encode()
    assert len(data) > loader.MAX_BYTES
    path = write_profile(data)
    run = cli("check", path)
    assert run.code == 1 and run.out == ""
    assert run.err == f"{path}: error: file is larger than {loader.MAX_BYTES} bytes; a profile is a few hundred\n"


# 4. Names that paste into the same symbol -----------------------------------------------------


def _pools(*names: str) -> str:
    lines = [f"  - {{name: {n}, block_size: 64, count: 4, usage: [key, nonce, message]}}" for n in names]
    return "pools:\n" + "\n".join(lines) + "\n"


POOLS = VALID_PROFILE[VALID_PROFILE.index("pools:\n"):VALID_PROFILE.index("sessions:\n")]
REGIONS = "    sram: {size: 128KiB}\n    ccm: {size: 64KiB}\n"


def _with(pools: str = POOLS, regions: str = REGIONS, budget: str = "  sram: 48KiB\n  ccm: 4KiB\n") -> str:
    text = VALID_PROFILE.replace(POOLS, pools).replace(REGIONS, regions)
    return text.replace("  sram: 48KiB\n  ccm: 4KiB\n", budget)


CLASHES: List[Tuple[str, str, str]] = [
    ("storage_suffix", _with(pools=_pools("tiny", "tiny_storage")),
     "15:12: error: pools[1].name: generates the symbol name 'pool_tiny_storage', which pools[0] ('tiny') also uses"),
    ("state_suffix", _with(pools=_pools("tiny_state", "tiny")),
     "15:12: error: pools[1].name: generates the symbol name 'pool_tiny_state', which pools[0] ('tiny_state') "
     "also uses"),
    ("linker_state_prefix", _with(pools=_pools("tiny", "state_tiny")),
     "15:12: error: pools[1].name: generates the symbol name 'pool_state_tiny', which pools[0] ('tiny') also uses"),
    ("pool_list", _with(pools=_pools("list")),
     "14:12: error: pools[0].name: generates the symbol name 'pool_list', which the generated header also uses"),
    ("region_workspace", _with(regions="    workspace: {size: 128KiB}\n    ccm: {size: 64KiB}\n",
                               budget="  workspace: 48KiB\n  ccm: 4KiB\n"),
     "8:16: error: target.regions.workspace: generates the symbol name 'workspace', which workspace also uses"),
    ("region_named_like_a_pool", _with(pools=_pools("tiny"), budget="  sram: 48KiB\n",
                                       regions="    sram: {size: 128KiB}\n    pool_tiny: {size: 1KiB}\n"),
     "13:12: error: pools[0].name: generates the symbol name 'pool_tiny', which region 'pool_tiny' also uses"),
    ("region_used_suffix", _with(pools=_pools("used"), budget="  sram: 48KiB\n",
                                 regions="    sram: {size: 128KiB}\n    pool: {size: 1KiB}\n"),
     "13:12: error: pools[0].name: generates the symbol name 'pool_used', which region 'pool' also uses"),
    # config::pool_<name>_block_size and _block_count come from names.py too.
    ("block_size_constant", _with(pools=_pools("tiny", "tiny_block_size")),
     "15:12: error: pools[1].name: generates the symbol name 'pool_tiny_block_size', which pools[0] ('tiny') "
     "also uses"),
    ("config_pool_count", _with(pools=_pools("count")),
     "14:12: error: pools[0].name: generates the symbol name 'pool_count', which the generated header also uses"),
]


@pytest.mark.parametrize("text, expected", [(t, e) for _, t, e in CLASHES], ids=[c[0] for c in CLASHES])
def test_names_that_paste_into_the_same_symbol_are_refused(write_profile, tmp_path: Path,
                                                           cli: Callable[..., Run], text: str, expected: str) -> None:
    path = write_profile(text)
    run = cli("generate", path, "--out", tmp_path / "out")
    assert run.code == 1 and run.out == ""
    assert run.err.splitlines() == [f"{path}:{expected}; rename one of them"]
    assert not (tmp_path / "out").exists()


def test_lookalike_names_that_do_not_clash_generate_unique_symbols(write_profile, tmp_path: Path,
                                                                   cli: Callable[..., Run]) -> None:
    text = _with(pools=_pools("storage", "state", "pool", "tiny", "tiny2", "list2"),
                 regions="    sram: {size: 128KiB}\n    pool: {size: 64KiB}\n",
                 budget="  sram: 60KiB\n  pool: 4KiB\n")
    path = write_profile(text)
    run = cli("generate", path, "--out", tmp_path)
    assert run.code == 0, run.err
    header = (tmp_path / "demo" / "layout.hpp").read_text()
    namespace = header[header.index("// Storage, in the linker fragment's order"):]  # after the config and abi namespaces
    declared = re.findall(r"^(?:alignas\(\d+\) )?inline [\w:<>* ]*?\b(\w+)(?:\[| ?\{| =)", namespace, re.M)
    assert len(declared) > 20 and len(declared) == len(set(declared)), sorted(declared)
    script = (tmp_path / "demo" / "layout.ld").read_text()
    symbols = re.findall(r"^\s*(__memplan_\w+) = ", script, re.M)
    assert len(symbols) > 20 and len(symbols) == len(set(symbols))


# 5. Unwritable output -----------------------------------------------------------------------------


def test_out_naming_a_file_is_a_usage_error(tmp_path: Path, cli: Callable[..., Run],
                                            cli_subprocess: Callable[..., Run], write_profile) -> None:
    path = write_profile(VALID_PROFILE)
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    run = cli("generate", path, "--out", blocker)
    assert run.code == 2 and run.out == ""
    assert run.err == f"memplan: error: cannot write {blocker / 'demo' / 'layout.hpp'}: Not a directory\n"
    run = cli_subprocess("generate", path, "--out", blocker)
    assert run.code == 2 and "Traceback" not in run.err
    assert blocker.read_text() == "x"


# 6. Control characters ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("schema: 1\nname: x\x1b\n", "2:8: error: invalid YAML: character 0x1b is not allowed"),
        ("\x0c", "1:1: error: invalid YAML: character 0x0c is not allowed"),
        ("schema: 1\r\nname: \x7f\r\n", "2:7: error: invalid YAML: character 0x7f is not allowed"),
        ("a: 1\u2028b: \x01\n", "2:4: error: invalid YAML: character 0x01 is not allowed"),
        ("a: '\ufffe'\n", "1:5: error: invalid YAML: character 0xfffe is not allowed"),
    ],
    ids=["escape", "form_feed", "delete_crlf", "after_line_separator", "non_character"],
)
def test_control_characters_are_an_error_not_a_traceback(write_profile, cli: Callable[..., Run],
                                                         cli_subprocess: Callable[..., Run],
                                                         text: str, expected: str) -> None:
    path = write_profile(text)
    run = cli("check", path)
    assert run.code == 1 and run.out == ""
    assert run.err == f"{path}:{expected}\n"
    run = cli_subprocess("check", path)
    assert run.code == 1 and "Traceback" not in run.err


def test_profile_names_the_runtime_uses_are_refused(tmp_path):
    """A profile named like a function or namespace the runtime declares in
    namespace memplan (to_string, secure_wipe, detail, ...) would make a header
    that does not compile; the validator refuses it at the name's position."""
    import subprocess
    import sys
    repo = __import__("pathlib").Path(__file__).resolve().parents[2]
    text = (repo / "profiles" / "medium.yaml").read_text()
    for name in ("to_string", "secure_wipe", "detail", "std", "usage_bit"):
        path = tmp_path / f"{name}.yaml"
        path.write_text(text.replace("name: medium", f"name: {name}"))
        result = subprocess.run([sys.executable, "-m", "memplan", "check", str(path)], capture_output=True, text=True,
                                cwd=repo / "generator", env={"PYTHONPATH": str(repo / "generator")})
        line = text.splitlines().index("name: medium") + 1
        assert result.returncode == 1
        assert f"{path}:{line}:7: error: name: '{name}' is a name the memplan runtime already uses" in result.stderr


def test_keys_with_line_breaks_names_reserved_for_the_implementation_and_bidi_descriptions(tmp_path):
    """A key with a line break would split its diagnostic line; names with a
    double underscore or mbedTLS's prefix, and `linux`/`unix` (macros in GNU
    mode), do not compile as namespaces; bidirectional controls in the
    description make the header's comment lie (and fail g++ -Wbidi-chars)."""
    import subprocess
    import sys
    repo = __import__("pathlib").Path(__file__).resolve().parents[2]
    text = (repo / "profiles" / "medium.yaml").read_text()
    cases = {
        "key": (text.replace("schema: 1", '"sch\\nema": 1\nschema: 1'), "mapping key 'sch\\nema' contains control characters"),
        "dunder": (text.replace("name: medium", "name: a__b"), "'a__b' is reserved"),
        "mbedtls": (text.replace("name: medium", "name: mbedtls_gcm_context"), "'mbedtls_gcm_context' is reserved"),
        "linux": (text.replace("name: medium", "name: linux"), "'linux' is a macro of the C or C++ library"),
        "bidi": (text.replace("description: Cortex-M4 gateway, 8 concurrent sessions", 'description: "Cortex-M4 \\u202egateway"'),
                 "description: must be one line"),
    }
    for label, (profile, expected) in cases.items():
        path = tmp_path / f"{label}.yaml"
        path.write_text(profile)
        result = subprocess.run([sys.executable, "-m", "memplan", "check", str(path)], capture_output=True, text=True,
                                cwd=repo / "generator", env={"PYTHONPATH": str(repo / "generator")})
        assert result.returncode == 1, label
        assert expected in result.stderr, (label, result.stderr)
        assert all(line.startswith(str(path)) for line in result.stderr.splitlines()), result.stderr
