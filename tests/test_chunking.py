"""Chunks: token bounds, exact spans, stable ids, never across a top-level section, formulas as their own
chunks, scraping markers never reach a chunk."""

from __future__ import annotations

from dataclasses import replace

import pytest
from conftest import SEEDS

from assistant.index import chunking, loaders, structure
from assistant.tokens import count_tokens


def parsed_seed(path):
    return structure.parse(loaders.load_document(path))


@pytest.mark.parametrize("max_tokens", [320, 120, 48])
@pytest.mark.parametrize("path", SEEDS, ids=lambda p: p.name[:3])
def test_bounds_spans_and_levels(path, max_tokens: int) -> None:
    parsed = parsed_seed(path)
    text = parsed.document.text
    chunks = chunking.chunk_document(parsed, max_tokens=max_tokens, overlap_tokens=max_tokens // 8)
    assert chunks
    # top-level sections; the salutation and the opening read as one passage
    tops: list[list[int]] = []
    last_role = ""
    for section in parsed.sections:
        if tops and section.level == 0 and section.role == "opening" and last_role == "opening":
            tops[-1][1] = section.end
        else:
            tops.append([section.start, section.end])
        last_role = section.role if section.level == 0 else ""
    for position, chunk in enumerate(chunks):
        assert chunk.position == position
        assert chunk.text == text[chunk.start : chunk.end]
        assert chunk.text.strip() == chunk.text
        assert 0 < count_tokens(chunk.text) <= max_tokens
        assert "##" not in chunk.text
        # inside exactly one top-level section: never across a level-1 heading
        assert sum(1 for s, e in tops if s <= chunk.start and chunk.end <= e) == 1
        assert chunk.doc_id == parsed.document.doc_id
        assert chunk.title == parsed.document.title
        assert chunk.doc_type == parsed.doc_type
    # every top-level section's text (minus the title line) is covered
    covered = set()
    for chunk in chunks:
        covered.update(range(chunk.start, chunk.end))
    for section in parsed.walk():
        body = [i for i in range(section.start, section.end) if not text[i].isspace()]
        assert all(i in covered for i in body)


@pytest.mark.parametrize("path", SEEDS, ids=lambda p: p.name[:3])
def test_formulas_are_own_chunks(path) -> None:
    parsed = parsed_seed(path)
    chunks = chunking.chunk_document(parsed)
    assert chunks[0].role == "opening"
    assert parsed.opening in chunks[0].text
    if parsed.closing:
        assert chunks[-1].role == "closing"
        assert chunks[-1].text == parsed.closing
        assert chunks[-1].heading_path == ""


def test_paid_markers_never_reach_a_chunk() -> None:
    path = next(p for p in SEEDS if "##paidbegin##" in p.read_text(encoding="utf-8"))
    for max_tokens in (320, 64):
        chunks = chunking.chunk_document(parsed_seed(path), max_tokens=max_tokens)
        assert not any("paid" in c.text for c in chunks)
        assert any(c.text.startswith("积极主动围绕中心、服务大局。") for c in chunks)


def test_ids_are_stable_content_hashes() -> None:
    path = SEEDS[2]
    first = chunking.chunk_document(parsed_seed(path))
    second = chunking.chunk_document(parsed_seed(path))
    assert [c.chunk_id for c in first] == [c.chunk_id for c in second]
    assert len({c.chunk_id for c in first}) == len(first)
    chunk = first[3]
    assert chunk.chunk_id == chunking.chunk_id(chunk.doc_id, chunk.heading_path, chunk.text)
    assert len(chunk.chunk_id) == 32
    moved = structure.parse(replace(loaders.load_document(path), doc_id="other"))
    assert chunking.chunk_document(moved)[3].chunk_id != chunk.chunk_id


def test_heading_paths_and_roles() -> None:
    research = next(p for p in SEEDS if p.name.startswith("004"))
    chunks = chunking.chunk_document(parsed_seed(research), max_tokens=120)
    by_path: dict[str, object] = {}
    for chunk in chunks:
        by_path.setdefault(chunk.heading_path, chunk)
    problem = by_path["二、党组织建设中存在的问题 / (一)党组织班子作用发挥不够"]
    assert problem.role == "problems"
    assert problem.text.startswith("(一)党组织班子作用发挥不够\n由于党支部书记")
    assert {c.role for c in chunks if c.heading_path.startswith("三、对策建议")} == {"measures"}

    speech = next(p for p in SEEDS if p.name.startswith("001"))
    roles = [c.role for c in chunking.chunk_document(parsed_seed(speech))]
    # review, problems, causes, requirements, closing — in the speech's order
    order = [r for i, r in enumerate(roles) if i == 0 or roles[i - 1] != r]
    assert order == ["opening", "achievements", "problems", "causes", "requirements", "closing"]


def test_small_sections_are_whole_chunks() -> None:
    duty = next(p for p in SEEDS if p.name.startswith("002"))
    parsed = parsed_seed(duty)
    chunks = chunking.chunk_document(parsed)
    problems = next(s for s in parsed.sections if s.role == "problems")
    item = problems.children[2]
    assert count_tokens(parsed.document.text[item.start : item.end]) <= 320
    matching = [c for c in chunks if c.start <= item.start and item.end <= c.end]
    assert len(matching) == 1  # a section that fits is never cut


def test_big_paragraph_splits_at_sentence_ends_with_overlap() -> None:
    sentences = [f"第{i}句话讲的是机关党建工作的第{i}个方面，内容比较充实。" for i in range(1, 41)]
    text = "一、基本情况\n" + "".join(sentences)
    parsed = structure.parse_text(text, "research-report")
    assert count_tokens(sentences[-1]) < 40
    chunks = chunking.chunk_document(parsed, max_tokens=100, overlap_tokens=40)
    assert len(chunks) > 3
    for chunk in chunks:
        assert count_tokens(chunk.text) <= 100
        assert chunk.text.endswith("。")
        assert chunk.heading_path == "一、基本情况"
    for before, after in zip(chunks, chunks[1:], strict=False):
        assert after.start < before.end  # whole sentences repeated
        overlap = text[after.start : before.end]
        assert overlap.endswith("。") and count_tokens(overlap) <= 40
        assert after.end > before.end


def test_sentence_longer_than_budget_is_cut_at_clauses() -> None:
    text = "一、基本情况\n" + "，".join(f"第{i}项工作扎实推进" for i in range(1, 80)) + "。"
    parsed = structure.parse_text(text, "research-report")
    chunks = chunking.chunk_document(parsed, max_tokens=60, overlap_tokens=10)
    assert all(count_tokens(c.text) <= 60 for c in chunks)
    # cut after a clause mark (the heading line alone does not fit with the next piece)
    assert all(c.text[-1] in "，。" or c.text == "一、基本情况" for c in chunks)
    for before, after in zip(chunks, chunks[1:], strict=False):
        assert after.start <= before.end + 1  # no gaps (a newline at most)
    assert chunks[-1].end == len(text)


def test_bad_budget() -> None:
    with pytest.raises(ValueError):
        chunking.chunk_document(parsed_seed(SEEDS[0]), max_tokens=4)
