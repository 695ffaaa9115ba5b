"""One source of limits: limits.py states each limit once; the runtime's
limits.hpp is rendered from it; the validator refuses one step past each
runtime limit at the key's position, and accepts the profile that sits at
all of them (tests/runtime/at_the_limits.yaml), which the runtime's
test_limits.cpp initializes. Together: a profile the generator accepts never
fails at init() on a limit."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Dict, List, Tuple

import pytest

from conftest import REPO, Run
from memplan import limits
from memplan.validator import load_profile

AT_THE_LIMITS = REPO / "tests" / "runtime" / "at_the_limits.yaml"
TEXT = AT_THE_LIMITS.read_text(encoding="utf-8")


def test_runtime_header_is_rendered_from_limits_py() -> None:
    committed = (REPO / "runtime" / "include" / "memplan" / "limits.hpp").read_text(encoding="utf-8")
    assert committed == limits.header(), (
        "runtime/include/memplan/limits.hpp differs from generator/memplan/limits.py: regenerate it with\n"
        "  PYTHONPATH=generator python3 -m memplan.limits > runtime/include/memplan/limits.hpp")


def test_every_runtime_limit_is_named_once() -> None:
    names = [limit.runtime for limit in limits.RUNTIME]
    assert len(names) == len(set(names))
    assert all(limit.why and limit.value > 0 for limit in limits.ALL)


def test_the_profile_at_the_limits_is_accepted_and_sits_at_each() -> None:
    profile, _ = load_profile(str(AT_THE_LIMITS))
    blocks = {pool.name: pool for pool in profile.pools}
    assert len(profile.pools) == limits.POOLS_MAX.value
    assert blocks["biggest"].block_size == limits.BLOCK_SIZE_MAX.value
    assert blocks["most"].block_size == limits.BLOCK_SIZE_MULTIPLE.value
    assert blocks["most"].count == limits.BLOCK_COUNT_MAX.value
    assert profile.workspace.buffer_size == limits.WORKSPACE_BUFFER_MAX.value
    assert profile.sessions.count == limits.SESSIONS_MAX.value
    assert profile.sessions.key_slots == limits.KEY_SLOTS_MAX.value
    assert profile.crypto.tag_size == limits.GCM_TAG_MAX.value
    assert profile.crypto.nonce_counter_size == limits.NONCE_COUNTER_MAX.value
    assert profile.crypto.nonce_fixed_size + profile.crypto.nonce_counter_size == limits.NONCE_BYTES.value
    assert profile.crypto.nonce_reserve == limits.NONCE_RESERVE_MAX.value
    assert profile.crypto.max_age_s == limits.MAX_AGE_S_MAX.value
    assert profile.crypto.max_security_violations == limits.SECURITY_VIOLATIONS_MAX.value
    assert profile.crypto.replay_window == limits.REPLAY_WINDOW_MAX.value


def _line_of(text: str, fragment: str) -> int:
    return text[:text.index(fragment)].count("\n") + 1


EXTRA_POOL = "  - {name: one_more, block_size: 8, count: 1, usage: [message]}\n"

CCM = ("aead: aes-256-gcm", "aead: aes-256-ccm")
CHACHAPOLY = ("aead: aes-256-gcm", "aead: chacha20-poly1305")

# limit -> (edits, the key in the error, a word of the message); the error sits at the last edit
PAST: Dict[str, Tuple[List[Tuple[str, str]], str, str]] = {
    "kMaxPools": ([("sessions:\n", EXTRA_POOL + "sessions:\n")], "pools", "at most 32 pools"),
    "kBlockSizeMultiple": ([("block_size: 8, count: 65535", "block_size: 12, count: 65535")], "pools[1].block_size",
                           "multiple of 8"),
    "kMaxBlockSize": ([("block_size: 1MiB", "block_size: 1048584")], "pools[0].block_size", "must be <= 1048576"),
    "kMaxPoolBlocks": ([("count: 65535", "count: 65536")], "pools[1].count", "must be <= 65535"),
    "kWorkspaceBufferMultiple": ([("buffer_size: 1MiB", "buffer_size: 1048568")], "workspace.buffer_size",
                                 "multiple of 16"),
    "kMaxWorkspaceBuffer": ([("buffer_size: 1MiB", "buffer_size: 1048592")], "workspace.buffer_size", "must be <= 1048576"),
    "kMaxSessions": ([("count: 1024", "count: 1025")], "sessions.count", "must be <= 1024"),
    "kMaxKeySlots": ([("key_slots: 255", "key_slots: 256")], "sessions.key_slots", "must be <= 255"),
    "kNonceSize": ([("fixed_size: 4, counter_size: 8", "fixed_size: 5, counter_size: 8")], "crypto.nonce",
                   "must be 12 bytes"),
    "kMinCcmNonceSize": ([CCM, ("max_messages: 18446744073709551615", "max_messages: 1000"),
                          ("fixed_size: 4, counter_size: 8", "fixed_size: 0, counter_size: 6")], "crypto.nonce",
                         "must be 7 to 13 bytes"),
    "kMaxNonceSize": ([CCM, ("fixed_size: 4, counter_size: 8", "fixed_size: 6, counter_size: 8")], "crypto.nonce",
                      "must be 7 to 13 bytes"),
    "kMinNonceCounterSize": ([("fixed_size: 4, counter_size: 8", "fixed_size: 8, counter_size: 3")],
                             "crypto.nonce.counter_size", "must be >= 4"),
    "kMaxNonceCounterSize": ([("fixed_size: 4, counter_size: 8", "fixed_size: 3, counter_size: 9")],
                             "crypto.nonce.counter_size", "must be <= 8"),
    "kMinGcmTagSize": ([("tag_size: 16", "tag_size: 11")], "crypto.tag_size", "tags of 12 to 16 bytes"),
    "kMaxGcmTagSize": ([("tag_size: 16", "tag_size: 17")], "crypto.tag_size", "must be <= 16"),
    "kMaxTagSize": ([CCM, ("tag_size: 16", "tag_size: 18")], "crypto.tag_size", "must be <= 16"),
    "kMinCcmTagSize": ([CCM, ("tag_size: 16", "tag_size: 2")], "crypto.tag_size", "must be >= 4"),
    "kChaChaPolyTagSize": ([CHACHAPOLY, ("tag_size: 16", "tag_size: 14")], "crypto.tag_size", "the full 16-byte tag only"),
    "kMaxSecurityViolations": ([("max_security_violations: 255", "max_security_violations: 256")],
                               "crypto.max_security_violations", "must be <= 255"),
    "kMaxReplayWindow": ([("replay_window: 64", "replay_window: 65")], "crypto.replay_window", "must be <= 64"),
}


def test_every_runtime_limit_has_a_step_past_it() -> None:
    assert sorted(PAST) == sorted(limit.runtime for limit in limits.RUNTIME)


@pytest.mark.parametrize("limit", sorted(PAST))
def test_one_step_past_a_runtime_limit_is_refused_at_its_key(limit: str, write_profile: Callable[..., Path],
                                                             cli: Callable[..., Run], tmp_path: Path) -> None:
    edits, key, word = PAST[limit]
    text = TEXT
    for old, new in edits:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    new = edits[-1][1]
    path = write_profile(text)
    run = cli("generate", path, "--out", tmp_path / "out")
    assert run.code == 1 and run.out == ""
    errors: List[str] = run.err.splitlines()
    # The error sits at the value changed (a list's count at its first item).
    line = _line_of(text, "pools:") + 1 if limit == "kMaxPools" else _line_of(text, new)
    assert len(errors) == 1, run.err
    assert errors[0].startswith(f"{path}:{line}:") and f": error: {key}: " in errors[0] and word in errors[0], run.err
    assert not (tmp_path / "out").exists()
