"""Property-based checks (hypothesis): the planner's invariants hold for any
valid profile, and no input makes the loader or validator fail with anything
but a ProfileError."""

from __future__ import annotations

import string

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import VALID_PROFILE
from memplan.diagnostics import ProfileError
from memplan.loader import load_text
from memplan.planner import plan, plan_for_abi
from memplan.validator import validate
from test_planner import _check_region

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def profiles(draw: st.DrawFn) -> str:
    document = yaml.safe_load(VALID_PROFILE)
    document["target"]["core"] = draw(st.sampled_from(["cortex-m0", "cortex-m4", "cortex-m7", "host"]))
    document["target"]["cache_line"] = draw(st.sampled_from([32, 64, 128, 256]))
    regions = ["sram", "ccm"]
    count = draw(st.integers(1, 8))
    document["pools"] = [
        {
            "name": f"p{i}",
            "block_size": 8 * draw(st.integers(4, 512)),
            "count": draw(st.integers(1, 100)),
            "usage": draw(st.lists(st.sampled_from(["key", "nonce", "message", "context"]), min_size=1, max_size=4,
                                   unique=True)),
            "region": draw(st.sampled_from(regions)),
        }
        for i in range(count)
    ]
    document["sessions"] = {"count": draw(st.integers(1, 20)), "key_slots": draw(st.integers(1, 20)),
                            "region": draw(st.sampled_from(regions))}
    document["workspace"] = {"buffer_size": 16 * draw(st.integers(1, 256)), "region": draw(st.sampled_from(regions))}
    # Budgets as large as the regions, so that the plan is judged, not refused.
    document["target"]["regions"] = {"sram": {"size": "4MiB"}, "ccm": {"size": "4MiB"}}
    document["budget"] = {"sram": "4MiB", "ccm": "4MiB"}
    return yaml.safe_dump(document, sort_keys=False)


@SETTINGS
@given(profiles())
def test_planner_invariants_hold_for_any_valid_profile(text: str) -> None:
    profile = validate(load_text(text, "p.yaml"), "p.yaml")
    result = plan(profile)
    for p in (result, result.host):
        assert p is not None
        for region in p.regions:
            if region.objects:
                _check_region(p, region)
    # The host plan differs only by ABI sizes: same objects, same order.
    host = plan_for_abi(profile, "host")
    assert [[o.object for o in r.objects] for r in host.regions] == [
        [o.object for o in r.objects] for r in result.regions
    ]


YAMLISH = st.text(alphabet=string.printable + "éü\u2028", max_size=300)


@SETTINGS
@given(YAMLISH)
def test_arbitrary_text_is_a_profile_or_a_profile_error(text: str) -> None:
    try:
        validate(load_text(text, "x.yaml"), "x.yaml")
    except ProfileError as exc:
        assert exc.diagnostics
        for diagnostic in exc.diagnostics:
            line = str(diagnostic)
            assert line.startswith("x.yaml") and ": error: " in line


@SETTINGS
@given(st.integers(0, len(VALID_PROFILE) - 1), st.text(alphabet="[]{}:,-&*!|>'\"#%@` \n\t0aZ", min_size=1, max_size=4))
def test_corrupted_valid_profile_fails_cleanly(position: int, insert: str) -> None:
    text = VALID_PROFILE[:position] + insert + VALID_PROFILE[position:]
    try:
        validate(load_text(text, "x.yaml"), "x.yaml")
    except ProfileError as exc:
        assert all(": error: " in str(d) for d in exc.diagnostics)
