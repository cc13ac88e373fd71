# -*- coding: utf-8 -*-
"""bench/report.py and the figures it is given: the rows of issue 25 (spreads, row 6b's static inventory,
the per-group times of community.general, measurement 7's reads and goals, the members' peak RSS), and
results.json files written before them."""

import json
import os
import subprocess
import sys

import pytest

BENCH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench")
sys.path.insert(0, BENCH)

import measure  # noqa: E402
import members  # noqa: E402
import memory  # noqa: E402
import report  # noqa: E402


def meta(ns, **extra):
    result = {"page_size": 100, "n": ns, "repeats": 1, "smoke": False, "command": "make bench", "date": "today",
              "seconds": 1, "parallelism": 4, "versions": {}, "machine": {},
              "loadavg": {"start": [0, 0, 0], "end": [0, 0, 0]},
              "cg_sample": dict((str(n), 20) for n in ns), "repeats_by_n": dict((str(n), 1) for n in ns)}
    result.update(extra)
    return result


def runs(*seconds, **extra):
    return [dict({"seconds": s, "requests": None}, **extra) for s in seconds]


def rendered(samples, run_meta):
    summary = report.summarize(samples, run_meta)
    return summary, report._markdown(summary, run_meta, {}) + report.members_markdown(samples)


def row(summary, num, n):
    return [r for r in summary["rows"] if r["num"] == num and r["n"] == n][0]


# ------------------------------------------------------------ rows 2 and 3: the spread

def test_rows_2_and_3_print_the_spread_of_their_runs_and_of_the_per_repeat_ratios():
    n = 10000
    samples = {"m2.floor": {n: runs(20.0, 16.0, 17.0, 18.0, 30.0)},
               "m3.collection.inproc": {n: [dict(r, requests=103) for r in runs(13.0, 12.0, 14.0, 15.0, 10.0)]}}
    summary, text = rendered(samples, meta([n], read_repeats_by_n={str(n): 5}))
    three = row(summary, "3", n)
    assert three["ratio"] == pytest.approx(13.0 / 18.0)
    assert three["ratios"] == pytest.approx([13 / 20.0, 12 / 16.0, 14 / 17.0, 15 / 18.0, 10 / 30.0])
    line = [x for x in text.splitlines() if x.startswith("| 3 |")][0]
    assert "13.0 s (min 10.0 s, max 15.0 s, 5 runs)" in line
    assert "the same floor: 18.0 s (min 16.0 s, max 30.0 s, 5 runs)" in line
    assert "0.72× (per repeat 0.33-0.83×)" in line
    assert "Runs of these and their floor (interleaved, the order rotated each repeat): 5 at N = 10,000;" in text


def test_one_run_prints_no_spread():
    samples = {"m2.floor": {100: runs(0.2)}, "m2.collection.inproc": {100: runs(0.2, requests=4)}}
    _summary, text = rendered(samples, meta([100]))
    line = [x for x in text.splitlines() if x.startswith("| 2 |")][0]
    assert "min" not in line and "per repeat" not in line


# ------------------------------------------------------------ row 1: community.general per group

def test_row_1_prints_community_general_s_per_group_times():
    n = 10000
    items = [50.0 + i for i in range(20)]
    samples = {"m1.collection.playbook": {n: runs(35.0, requests=10003)},
               "m1.cg.playbook": {n: runs(sum(items), requests=240, sample=20, existing_before_sample=4990,
                                          item_seconds=items)},
               "ping.playbook": {n: runs(1.0)}}
    _summary, text = rendered(samples, meta([n]))
    line = [x for x in text.splitlines() if x.startswith("| 1 |")][0]
    assert "extrapolated from 20 groups timed, created while 4990 existed; per group: min 50.0 s, median " \
           "59.5 s, max 69.0 s over 20 groups" in line


def test_row_1_of_an_old_results_json_without_per_group_times():
    samples = {"m1.collection.playbook": {1000: runs(5.0, requests=1003)},
               "m1.cg.playbook": {1000: runs(60.0, requests=275, sample=25, existing_before_sample=488)},
               "ping.playbook": {1000: runs(1.0)}}
    _summary, text = rendered(samples, meta([1000]))
    line = [x for x in text.splitlines() if x.startswith("| 1 |")][0]
    assert "extrapolated from 25 groups timed, created while 488 existed)" in line and "; per group: min" not in line


# ------------------------------------------------------------ row 6b: the static inventory

LISTING = {
    "_meta": {"hostvars": {
        "res-1": {"waldur_resource": {"name": {"__ansible_unsafe": "res-1"}, "scope_id": {"__ansible_unsafe": ""},
                                      "weird": {"__ansible_unsafe": "{{ lookup('pipe', 'id') }}"}},
                  "count": 2, "members": []},
        "res-2": {"waldur_resource": {"name": {"__ansible_unsafe": "res-2"}}},
    }},
    "all": {"children": ["ungrouped", "offering_x", "role_admin"]},
    "offering_x": {"hosts": ["res-1", "res-2"]},
    "role_admin": {"hosts": ["res-2"]},
}


def test_the_static_inventory_lists_what_the_plugin_listed(tmp_path):
    """The file is read by the real ansible-inventory: its --list equals the given one after parsing."""
    static = measure.write_static_inventory(LISTING, str(tmp_path / "static.yml"))
    output = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-inventory"), "-i", static,
                             "--list"], capture_output=True, text=True, check=True).stdout
    listed = json.loads(output)
    assert measure.inventory_difference(LISTING, listed) is None
    # Data stays data: the template-looking value is still marked unsafe, not rendered.
    assert listed["_meta"]["hostvars"]["res-1"]["waldur_resource"]["weird"] == {
        "__ansible_unsafe": "{{ lookup('pipe', 'id') }}"}


def test_the_equality_check_finds_a_changed_variable_or_group():
    changed = json.loads(json.dumps(LISTING))
    changed["_meta"]["hostvars"]["res-2"]["waldur_resource"]["name"] = "res-3"
    assert measure.inventory_difference(LISTING, changed).startswith("host res-2: variables")
    moved = json.loads(json.dumps(LISTING))
    moved["role_admin"]["hosts"] = ["res-1"]
    assert measure.inventory_difference(LISTING, moved).startswith("group role_admin:")
    reordered = json.loads(json.dumps(LISTING))
    reordered["offering_x"]["hosts"].reverse()
    assert measure.inventory_difference(LISTING, reordered) is None


def test_row_6b_is_judged_against_the_static_inventory_and_6c_is_reported():
    n = 10000
    samples = {"m6.process": {n: runs(6.0, 6.2, 6.4)}, "m6.static": {n: runs(5.0, 5.1, 5.2)},
               "m6.plugin": {n: runs(1.0, 1.1, 1.2)}}
    summary, text = rendered(samples, meta([n]))
    six_b, six_c = row(summary, "6b", n), row(summary, "6c", n)
    assert six_b["ratio"] == pytest.approx(6.2 / 5.1) and six_b["time_met"] is False
    assert six_c["time_met"] is None
    assert [x for x in text.splitlines() if x.startswith("| 6c |")][0].endswith("| — (reported) |")
    assert "- Row 6b at N=10,000: 1.22× (goal ≤ 1.2× at N ≥ 10,000)" in text
    assert "Row 6c" not in text


def test_an_old_results_json_without_a_static_inventory_has_no_row_6b():
    samples = {"m6.process": {10000: runs(10.0)}, "m6.plugin": {10000: runs(1.44)}}
    summary, _text = rendered(samples, meta([10000]))
    assert [r["num"] for r in summary["rows"]] == ["6c"]


# ------------------------------------------------------------ row 5: what a module does

def test_row_5_says_the_collector_is_paused_only_for_runs_that_paused_it():
    samples = {"m5.all": {100: runs(0.03)}, "m5.baseline.paused_gc": {100: runs(0.015)}}
    summary, _text = rendered(samples, meta([100], store_gc_paused=True))
    assert "garbage collector paused for the whole load and update" in row(summary, "5", 100)["judged"]
    summary, _text = rendered(samples, meta([100]))
    assert row(summary, "5", 100)["judged"] == "in-process"


# ------------------------------------------------------------ measurement 7

def m7(shape, kind, side, seconds, **extra):
    sample = dict(seconds=seconds, requests=10, per_group=2, users=5000, memberships=20000, users_wanted=5000,
                  users_requests=52, users_strategy="listing", expected_requests=10, token_renewals_allowed=0)
    sample.update(extra)
    return {"m7%s.%s.%s" % (shape, side, kind): {10000: [sample]}}


def m7_samples(**extra):
    samples = {}
    for kind, coll, floor in (("first", 60.0, 44.0), ("noop", 16.0, 20.0)):
        samples.update(m7("b", kind, "collection", coll, **extra))
        samples.update(m7("b", kind, "floor", floor))
    return samples


def test_members_goals_per_shape(monkeypatch):
    monkeypatch.setattr(members, "TIME_GOALS", {("a", "noop"): 1.3, ("a", "first"): 1.5, ("b", "noop"): 0.8,
                                                ("b", "first"): 1.5})
    text = report.members_markdown(m7_samples())
    noop = [x for x in text.splitlines() if "| no-op re-apply |" in x][0]
    assert noop.endswith("| 0.80× | ≤ 0.8× | **yes** |")
    first = [x for x in text.splitlines() if "| first apply |" in x][0]
    assert first.endswith("| 1.36× | ≤ 1.5× | **yes** |")


def test_members_goals_of_the_older_form(monkeypatch):
    monkeypatch.setattr(members, "TIME_GOALS", {"noop": 1.3, "first": 1.5})
    text = report.members_markdown(m7_samples())
    assert [x for x in text.splitlines() if "| no-op re-apply |" in x][0].endswith("| ≤ 1.3× | **yes** |")


def test_members_reads_are_rendered_when_recorded_and_absent_from_old_results():
    # As members.UserResolution records it: no group listed, so the groups are the shape's N.
    reads = {"strategy": "user", "groups": 0, "users": 5000, "requests": 5000}
    text = report.members_markdown(m7_samples(member_reads=reads))
    assert "- (b) no-op re-apply: memberships read per user: 5,000 users' groups instead of 10,000 groups' " \
           "members (5,000 requests)." in text
    old = report.members_markdown(m7_samples())
    assert "memberships read per" not in old and "How the sync read" not in old
    assert report.member_reads_text({"strategy": "group", "groups": 40, "users": 50, "requests": 41}) == \
        "memberships read per group: 40 groups' members (41 requests)"


# ------------------------------------------------------------ measurement 8: a first apply with members

def test_the_members_first_apply_s_peak_rss_is_judged_at_10000_groups():
    peak = {"seconds": 90, "peak_rss_kib": 300 * 1024, "per_group": 2, "users": 5000}
    samples = {memory.MEMBERS_KEY: {10000: [peak]},
               memory.MEMBERS_BASE_KEY: {10000: [{"seconds": 1, "peak_rss_kib": 140 * 1024}]}}
    rows = memory.rows(samples, [100])
    assert len(rows) == 1 and rows[0]["met"] is False and rows[0]["ratio"] == pytest.approx(300 / 140.0)
    assert "first apply with members (10,000 groups × 2 members, 5,000 users)" in rows[0]["title"]
    text = "\n".join(memory.markdown(samples, [100]))
    assert "| 300 MiB | 140 MiB | 2.14× | ≤ 2.0× at N ≥ 10,000 | **NO** |" in text
    smoke = {memory.MEMBERS_KEY: {40: [{"seconds": 1, "peak_rss_kib": 100 * 1024, "per_group": 2, "users": 50}]},
             memory.MEMBERS_BASE_KEY: {40: [{"seconds": 1, "peak_rss_kib": 30 * 1024}]}}
    assert memory.rows(smoke, [100])[0]["met"] is None
