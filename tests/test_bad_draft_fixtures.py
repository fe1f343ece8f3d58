"""The calibration fixtures are consistent with their drafts and cases.

``tests/data/bad_drafts/`` holds drafts made by the composer before the content checks existed, and
``expected.yaml`` what an experienced writer flags in each (see that folder's README). The checks that must
flag them are tested elsewhere; these tests only keep the fixtures honest: every flagged passage is really in
its draft (once, in the section it is filed under), every fact named is really the writer's, every fixture
comes from a shipped case, and the hand-written good drafts state no number the writer did not supply.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

import pytest
import yaml

from assistant.evals.cases import read_draft_file
from assistant.records import Draft

ROOT = Path(__file__).resolve().parents[1]
CASES = ROOT / "evals" / "cases"
BAD = ROOT / "tests" / "data" / "bad_drafts"
GOOD = ROOT / "tests" / "data" / "good_drafts"
ROLES = {"achievement", "problem", "cause", "plan", "background"}
LEVEL1 = re.compile(r"^[一二三四五六七八九十]+、")
LEVEL2 = re.compile(r"^（[一二三四五六七八九十]+）")

EXPECTED = yaml.safe_load((BAD / "expected.yaml").read_text(encoding="utf-8"))
FIXTURES: dict = EXPECTED["fixtures"]
# a flagged passage: short, verbatim, and found once in its draft
FLAGGED_FIELDS = ("off_topic", "foreign", "numbers_coincidence", "tifa", "formula", "structure", "sameness")


@cache
def _case(case_id: str) -> dict:
    return yaml.safe_load((CASES / f"{case_id}.yaml").read_text(encoding="utf-8"))


@cache
def _draft_text(case_id: str) -> str:
    return json.loads((BAD / f"{case_id}.json").read_text(encoding="utf-8"))["text"]


def _section_block(text: str, label: str) -> str | None:
    """The lines of the section whose first line starts with ``label``: up to the next heading of the same
    or a higher level for ``一、``/``（一）`` labels, that one paragraph for any other label."""
    lines = text.split("\n")
    start = next((i for i, line in enumerate(lines) if line.startswith(label)), None)
    if start is None:
        return None
    end = start + 1
    if LEVEL1.match(label) or LEVEL2.match(label):
        stops = (LEVEL1,) if LEVEL1.match(label) else (LEVEL1, LEVEL2)
        while end < len(lines) and not (
            any(p.match(lines[end]) for p in stops) or lines[end].startswith("同志们，")
        ):
            end += 1
    return "\n".join(lines[start:end])


def test_expected_file_has_a_format_and_at_least_eight_fixtures_of_every_type() -> None:
    assert EXPECTED["format"] == 1
    assert len(FIXTURES) >= 8
    types = {_case(case_id)["type"] for case_id in FIXTURES}
    assert types == {"speech", "duty-report", "research-report", "work-report"}
    # the three drafts the composer issue asks to show
    assert {"speech-07-fangxun-xianzhang", "research-07-jujia-yanglao", "duty-07-cun-zhishu"} <= set(FIXTURES)


def test_every_fixture_has_its_draft_and_a_case_and_every_draft_is_annotated() -> None:
    drafts = {p.stem for p in BAD.glob("*.json")}
    assert drafts == set(FIXTURES)
    for case_id in FIXTURES:
        assert (CASES / f"{case_id}.yaml").is_file(), case_id


@pytest.mark.parametrize("case_id", sorted(FIXTURES))
def test_fixture_is_a_draft_of_its_case(case_id: str) -> None:
    draft, is_markdown = read_draft_file(BAD / f"{case_id}.json")
    assert isinstance(draft, Draft) and not is_markdown
    assert draft.text == _draft_text(case_id)
    case = _case(case_id)
    request = draft.request
    assert (request.doc_type, request.topic, request.occasion) == (
        case["type"],
        case["topic"],
        case["occasion"],
    )
    assert request.points == case["points"]
    assert request.unit in (case["unit"], case.get("speaker"))


@pytest.mark.parametrize("case_id", sorted(FIXTURES))
def test_every_flagged_passage_occurs_once_in_its_draft(case_id: str) -> None:
    text = _draft_text(case_id)
    entry = FIXTURES[case_id]
    for field in FLAGGED_FIELDS:
        for item in entry[field]:
            passage = item["text"]
            assert 6 <= len(passage) <= 30, (field, passage)
            assert text.count(passage) == 1, (field, passage, text.count(passage))
    for item in entry["off_topic"]:
        block = _section_block(text, item["section"])
        assert block is not None and item["text"] in block, item
    for item in entry["foreign"] + entry["formula"] + entry["structure"]:
        assert item["why"].strip(), item
    for item in entry["tifa"]:
        assert item["right"] and item["right"] != item["text"], item
    for item in entry["sameness"]:
        assert item["also_in"], item
        for other in item["also_in"]:
            assert other != case_id and other in FIXTURES
            assert _case(other)["topic"] != _case(case_id)["topic"]
            assert item["text"] in _draft_text(other), (item["text"], other)
    assert entry["score"] in (1, 2, 3, 4, 5) and entry["why"].strip()


@pytest.mark.parametrize("case_id", sorted(FIXTURES))
def test_facts_named_are_the_writers_own_and_really_missing_or_misplaced(case_id: str) -> None:
    text = _draft_text(case_id)
    materials = _case(case_id)["materials"]
    entry = FIXTURES[case_id]
    for fact in entry["facts_missing"]:
        assert fact in materials, fact
        assert fact.rstrip("。") not in text, fact
    # every material sentence the draft does not use is listed: the list is complete
    unused = [m for m in materials if m.rstrip("。") not in text]
    assert sorted(entry["facts_missing"]) == sorted(unused)
    for item in entry["facts_misplaced"]:
        assert item["fact"] in materials, item
        block = _section_block(text, item["section"])
        assert block is not None and item["fact"].rstrip("。") in block, item
        assert item["belongs"] != item["section"], item
    for item in entry["numbers_coincidence"]:
        assert item["material"] in materials, item
        assert item["number"] in item["text"] and item["number"] in item["material"], item
        assert item["text"] not in item["material"], item  # the number is reused elsewhere, not quoted


def test_case_annotations_name_points_and_facts_consistently() -> None:
    """Cases with content annotations: ``must_use`` per point, ``facts`` per material sentence."""
    annotated = [yaml.safe_load(p.read_text(encoding="utf-8")) for p in sorted(CASES.glob("*.yaml"))]
    annotated = [c for c in annotated if "must_use" in c]
    assert len(annotated) >= 14
    for case in annotated:
        points, materials = case["points"], case["materials"]
        assert 3 <= len(points) <= 5 and 3 <= len(materials) <= 10, case["id"]
        assert case["sector"] and case["note"], case["id"]
        if case["type"] in ("speech", "duty-report"):
            assert case["speaker"], case["id"]
        assert list(case["must_use"]) == points, case["id"]
        for words in case["must_use"].values():
            assert 2 <= len(words) <= 4, (case["id"], words)
        assert [f["text"] for f in case["facts"]] == materials, case["id"]
        for fact in case["facts"]:
            assert fact["role"] in ROLES and fact["point"] in ["", *points], (case["id"], fact)
    mixed = [c for c in annotated if {f["role"] for f in c["facts"]} & {"problem", "cause"}]
    assert len(mixed) * 2 >= len(annotated)  # half route facts to different sections


def _numbers(text: str) -> set[str]:
    return set(re.findall(r"\d+(?:\.\d+)?", text))


GOOD_DRAFTS = sorted(p for p in GOOD.glob("*.md") if p.name != "README.md")


def test_good_drafts_include_a_speech_and_a_research_report() -> None:
    assert {_case(p.stem)["type"] for p in GOOD_DRAFTS} >= {"speech", "research-report"}


@pytest.mark.parametrize("path", GOOD_DRAFTS, ids=lambda p: p.stem)
def test_good_draft_states_only_the_writers_numbers_and_no_flagged_passage(path: Path) -> None:
    case = _case(path.stem)
    text = path.read_text(encoding="utf-8")
    allowed = _numbers(" ".join([*case["materials"], case["topic"], case["occasion"], case["unit"]]))
    allowed |= _numbers(" ".join(case["points"]))
    assert _numbers(text) <= allowed, _numbers(text) - allowed
    for fact in case["materials"]:
        assert fact.rstrip("。") in text, fact  # an honest first draft uses every fact it was given
    flagged = {
        item["text"]
        for entry in FIXTURES.values()
        for field in ("foreign", "tifa", "formula", "sameness")
        for item in entry[field]
    }
    assert not [p for p in flagged if p in text]
    assert "【待补：" in text
