"""Hybrid retrieval: validation, exact filters, fusion, de-duplication, context and caching."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from assistant.errors import IndexMissingError, InputError
from assistant.index import retrieval
from assistant.index.ingest import delete_document, ingest, set_document_type
from assistant.index.keyword import KeywordIndex, tokenize
from assistant.index.retrieval import Retriever, _mmr
from assistant.index.store import where_filter
from assistant.records import ROLES
from assistant.settings import PROJECT_ROOT, Settings, load_settings

RESEARCH = "004_98979e0a19b40566"


@pytest.fixture
def hs(tmp_path: Path, corpus_copy: Path) -> Settings:
    settings = load_settings(index_dir=tmp_path / "index", embedder="hashing")
    ingest([corpus_copy], settings)
    return settings


def test_missing_index_says_to_ingest(tmp_path: Path) -> None:
    with pytest.raises(IndexMissingError, match="索引不存在：请先运行 python -m assistant ingest"):
        Retriever.open(load_settings(index_dir=tmp_path / "empty", embedder="hashing"))


@pytest.mark.parametrize("query", ["", "   ", "\n"])
def test_empty_query_is_an_input_error(hs: Settings, query: str) -> None:
    with pytest.raises(InputError, match="检索内容为空"):
        Retriever.open(hs).search(query)


def test_unknown_type_and_role_list_the_valid_ones(hs: Settings) -> None:
    retriever = Retriever.open(hs)
    with pytest.raises(InputError) as info:
        retriever.search("党建", doc_type="poem")
    assert all(
        name in str(info.value) for name in ("speech", "duty-report", "research-report", "work-report")
    )
    with pytest.raises(InputError) as info:
        retriever.search("党建", role="intro")
    assert all(role in str(info.value) for role in ROLES)
    with pytest.raises(InputError):
        retriever.search("党建", k=0)


def test_filters_are_exact(hs: Settings) -> None:
    retriever = Retriever.open(hs)
    for doc_type in ("speech", "research-report", "work-report", "duty-report"):
        hits = retriever.search("党支部 三会一课 党员教育", doc_type=doc_type, k=6)
        assert hits and {p.chunk.doc_type for p in hits} == {doc_type}
    hits = retriever.search("存在的问题 不足", role="problems", k=6)
    assert hits and {p.chunk.role for p in hits} == {"problems"}
    hits = retriever.search("党建", doc_type="research-report", role="measures", k=20)
    assert hits and all((p.chunk.doc_type, p.chunk.role) == ("research-report", "measures") for p in hits)
    assert len(hits) == len(retriever.filtered("research-report", "measures"))


def test_results_carry_both_rankings_and_a_fused_score(hs: Settings) -> None:
    hits = Retriever.open(hs).search("一岗双责", k=5)
    assert len(hits) == 5
    assert "一岗双责" in hits[0].chunk.text
    assert hits[0].dense_rank is not None and hits[0].keyword_rank is not None
    assert hits[0].score == pytest.approx(
        1 / (60 + hits[0].dense_rank) + 1 / (60 + hits[0].keyword_rank), abs=2.5e-4
    )
    assert len({p.chunk.chunk_id for p in hits}) == 5


def test_copies_of_one_paragraph_are_not_returned_twice(tmp_path: Path) -> None:
    folder = tmp_path / "dups"
    folder.mkdir()
    seed = (PROJECT_ROOT / "corpus" / f"{RESEARCH}.txt").read_text(encoding="utf-8")
    for name in ("甲单位调研报告", "乙单位调研报告", "丙单位调研报告"):
        (folder / f"{name}.txt").write_text(seed, encoding="utf-8")  # three documents, same paragraphs
    settings = load_settings(index_dir=tmp_path / "index", embedder="hashing")
    ingest([folder], settings)
    hits = Retriever.open(settings).search("三会一课制度执行力度不够", k=5)
    texts = [p.chunk.text for p in hits]
    assert len(texts) == len(set(texts)), "near-copies from different documents crowd the results"
    assert len({p.chunk.doc_id for p in hits}) >= 1 and len(hits) >= 3


def test_mmr_prefers_a_different_passage_over_a_near_copy() -> None:
    a = np.array([1.0, 0.0, 0.0])
    near = np.array([0.96, 0.28, 0.0])
    other = np.array([0.0, 1.0, 0.0])
    picked = _mmr(
        ["a", "near", "other"],
        {"a": 1.0, "near": 0.99, "other": 0.8},
        {"a": a, "near": near, "other": other},
        2,
    )
    assert picked == ["a", "other"]
    exact = _mmr(["a", "copy"], {"a": 1.0, "copy": 1.0}, {"a": a, "copy": a.copy()}, 2)
    assert exact == ["a"]


def test_context_shows_the_passage_in_its_document(hs: Settings) -> None:
    retriever = Retriever.open(hs)
    hit = retriever.search("党员示范岗 党员责任区", doc_type="research-report", k=1)[0]
    ctx = retriever.context(hit.chunk.chunk_id)
    assert ctx["title"] == "关于在人社工作中充分发挥党支部战斗堡垒作用的调研报告"
    assert ctx["doc_id"] == RESEARCH and ctx["heading_path"] == hit.chunk.heading_path
    document = (PROJECT_ROOT / "corpus" / f"{RESEARCH}.txt").read_text(encoding="utf-8")
    assert ctx["before"] or ctx["after"]
    assert ctx["before"][-20:] in document and ctx["after"][:20] in document
    assert ctx["sections"] and ctx["section"] is not None
    with pytest.raises(InputError):
        retriever.context("no-such-chunk")


def test_retriever_is_cached_until_the_index_changes(hs: Settings, corpus_copy: Path) -> None:
    first = Retriever.open(hs)
    assert Retriever.open(hs) is first
    path = corpus_copy / f"{RESEARCH}.txt"
    path.write_text(
        path.read_text(encoding="utf-8") + "\n新增一段：以绣花功夫抓好整改落实。", encoding="utf-8"
    )
    ingest([corpus_copy], hs)
    second = Retriever.open(hs)
    assert second is not first
    assert "绣花" in second.search("绣花功夫", k=1)[0].chunk.text


def test_tokenizer_drops_punctuation_and_keeps_search_subwords() -> None:
    tokens = tokenize("（二）政治理论学习抓得不紧，“三会一课”落实不够。")
    assert {"政治", "理论", "学习", "三会", "一课", "落实", "不够"} <= set(tokens)
    assert not any(t in tokens for t in ("，", "“", "（", "。", " "))


def test_keyword_index_saves_and_loads_for_its_generation(tmp_path: Path) -> None:
    ids = ["a", "b", "c"]
    index = KeywordIndex.build(ids, [tokenize(t) for t in ("三会一课落实不够", "党建与业务融合", "述职评议")])
    assert [cid for cid, _ in index.search("三会一课", 3)] == ["a"]
    index.save(tmp_path, generation=7)
    assert KeywordIndex.load(tmp_path, 8) is None
    loaded = KeywordIndex.load(tmp_path, 7)
    assert loaded is not None and loaded.ids == ids
    assert [cid for cid, _ in loaded.search("业务融合", 3)] == ["b"]
    assert loaded.search("完全无关的词语", 3) == []
    assert KeywordIndex.build([], []).search("党建", 3) == []


@pytest.mark.slow
def test_seed_search_finds_the_research_report_problem_section(seed_settings: Settings) -> None:
    retriever = Retriever.open(seed_settings)
    hits = retriever.search("三会一课落实不到位", doc_type="research-report", k=5)
    assert hits[0].chunk.doc_id == RESEARCH
    assert hits[0].chunk.heading_path.startswith("二、党组织建设中存在的问题")
    assert hits[0].chunk.role == "problems"


def test_search_after_the_bm25_folder_is_gone(hs: Settings) -> None:
    shutil.rmtree(hs.index_dir / "bm25")
    from assistant.index import keyword

    keyword._CACHE.clear()
    retriever = Retriever.open(hs)
    retriever._keyword = None
    assert retriever.search("一岗双责", k=2)[0].keyword_rank == 1


def test_in_memory_dense_search_ranks_like_chroma_and_keeps_to_the_filter(hs: Settings) -> None:
    retriever = Retriever.open(hs)
    assert retriever.dense is not None and len(retriever.dense.ids) == len(retriever.chunks)
    for query in ("三会一课落实不够", "党员教育管理", "一岗双责 压实责任"):
        vector = retriever.embedder.embed_query(query)
        for doc_type, role in ((None, None), ("research-report", None), ("research-report", "problems")):
            mine = retriever.dense.query(vector, 24, doc_type, role)
            chroma = retriever.store.query(vector, 24, where_filter(doc_type, role))
            assert [cid for cid, _ in mine] == [cid for cid, _ in chroma]
            assert [s for _, s in mine] == pytest.approx([s for _, s in chroma], abs=1e-5)
    hits = retriever.search("存在的问题 三会一课", doc_type="research-report", role="problems", k=20)
    assert any(p.dense_rank is not None for p in hits)
    assert all((p.chunk.doc_type, p.chunk.role) == ("research-report", "problems") for p in hits)
    assert retriever.dense.query(vector, 5, "speech", "problems-that-no-chunk-has") == []


def test_chroma_query_is_the_fallback_for_very_large_indexes(
    hs: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    in_memory = Retriever.open(hs).search("党员教育管理", doc_type="research-report", k=6)
    monkeypatch.setattr(retrieval, "MAX_MEMORY_VECTORS", 0)
    retrieval._CACHE.clear()
    fallback = Retriever.open(hs)
    assert fallback.dense is None
    hits = fallback.search("党员教育管理", doc_type="research-report", k=6)
    assert [(p.chunk.chunk_id, p.dense_rank, p.keyword_rank) for p in hits] == [
        (p.chunk.chunk_id, p.dense_rank, p.keyword_rank) for p in in_memory
    ]


def test_dense_side_follows_ingest_type_correction_and_deletion(hs: Settings, corpus_copy: Path) -> None:
    before = Retriever.open(hs)
    before.search("党建", k=3)  # the vectors of this index version are now in memory
    text = "关于推进窗口服务标准化建设的调研报告\n\n一、基本情况\n\n我局推行“一窗通办”，群众办事平均等待时间缩短到八分钟。\n"
    (corpus_copy / "窗口服务调研报告.txt").write_text(text, encoding="utf-8")
    ingest([corpus_copy], hs)
    after = Retriever.open(hs)
    assert after is not before and after.dense is not None
    assert len(after.dense.ids) == len(after.chunks) > len(before.chunks)
    new_ids = set(after.chunks) - set(before.chunks)
    vector = after.embedder.embed_query("一窗通办 群众办事平均等待时间缩短到八分钟")
    assert after.dense.query(vector, 1)[0][0] in new_ids
    hit = after.search("一窗通办 群众办事平均等待时间缩短到八分钟", k=1)[0]
    assert hit.chunk.chunk_id in new_ids and hit.dense_rank == 1

    set_document_type(hs, RESEARCH, "speech")
    corrected = Retriever.open(hs)
    moved = {cid for cid, c in corrected.chunks.items() if c.doc_id == RESEARCH}
    hits = corrected.search("三会一课落实不够", doc_type="speech", k=10)
    assert any(p.chunk.chunk_id in moved and p.dense_rank is not None for p in hits)
    assert all(p.chunk.doc_type == "speech" for p in hits)

    delete_document(hs, RESEARCH)
    deleted = Retriever.open(hs)
    assert not moved & set(deleted.dense.ids)
    hits = deleted.search("三会一课落实不够", k=20)
    assert hits and all(p.chunk.doc_id != RESEARCH for p in hits)


def test_vectors_are_saved_for_the_next_process_and_ignored_when_stale(
    hs: Settings, corpus_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    query = "三会一课落实不够"
    first = Retriever.open(hs)
    first.warm()
    saved = Path(hs.index_dir) / retrieval.VECTORS_FILE
    assert saved.is_file()
    expected = [p.chunk.chunk_id for p in first.search(query, doc_type="research-report", k=5)]

    retrieval._CACHE.clear()  # as a new process: the next retriever must take the vectors from the file
    second = Retriever.open(hs)
    monkeypatch.setattr(second.store, "embedding_batches", lambda *_a, **_k: pytest.fail("read Chroma"))
    assert [p.chunk.chunk_id for p in second.search(query, doc_type="research-report", k=5)] == expected
    monkeypatch.undo()

    text = "关于推进窗口服务标准化建设的调研报告\n\n一、基本情况\n\n我局推行“一窗通办”，群众办事平均等待时间缩短到八分钟。\n"
    (corpus_copy / "窗口服务调研报告.txt").write_text(text, encoding="utf-8")
    ingest([corpus_copy], hs)  # a new index version: the saved vectors are stale
    third = Retriever.open(hs)
    assert third.dense is not None and set(third.dense.ids) == set(third.chunks) > set(second.chunks)
    assert third.search("一窗通办 群众办事平均等待时间缩短到八分钟", k=1)[0].chunk.doc_id != RESEARCH
    expected = [p.chunk.chunk_id for p in third.search(query, doc_type="research-report", k=5)]

    saved.write_bytes(b"damaged")  # a damaged file is read around and replaced
    retrieval._CACHE.clear()
    fourth = Retriever.open(hs)
    assert [p.chunk.chunk_id for p in fourth.search(query, doc_type="research-report", k=5)] == expected
    with np.load(saved) as data:
        assert len(data["ids"]) == len(fourth.chunks)


def test_warm_up_in_the_background_loads_the_index_and_never_raises(hs: Settings, tmp_path: Path) -> None:
    retrieval._CACHE.clear()
    retrieval.warm_in_background(hs).join(timeout=120)
    warmed = Retriever.open(hs)
    assert warmed._dense is not None and warmed._keyword is not None
    missing = retrieval.warm_in_background(load_settings(index_dir=tmp_path / "none", embedder="hashing"))
    missing.join(timeout=120)
    assert not missing.is_alive()


def test_the_web_servers_warm_up_readies_the_drafting_side_too(hs: Settings) -> None:
    """The first draft of a fresh server does not pay for the corpus view, the sentence judge's probes or
    the public collection: the warm-up thread loads them after the index."""
    from assistant.content import topicality
    from assistant.draft import scoring
    from assistant.index import corpus_view

    corpus_view._CACHE.clear()
    topicality._JUDGES.clear()
    retrieval.warm_in_background(hs, then=scoring.warm).join(timeout=300)
    assert corpus_view._CACHE and topicality._JUDGES
    judge = topicality.judge_for(hs, corpus_view.open_view(hs).stats)
    assert len(topicality._JUDGES) == 1 and judge._cache  # the same judge, its probe vectors in hand


@pytest.mark.parametrize("k", [1, 3, 5, 40])
def test_keyword_top_k_keeps_score_order_ties_and_filters(k: int, monkeypatch: pytest.MonkeyPatch) -> None:
    texts = ["三会一课", "三会一课 落实", "党建", "三会一课", "业务 融合", "三会一课 党建", "三会一课"] * 4
    ids = [f"c{i:02d}" for i in range(len(texts))]
    index = KeywordIndex.build(ids, [tokenize(t) for t in texts])
    scores = index.scores("三会一课 党建")
    ranked = [i for i in np.argsort(-scores, kind="stable") if scores[i] > 0]  # the reference ranking
    assert [cid for cid, _ in index.search("三会一课 党建", k)] == [ids[i] for i in ranked[:k]]
    odd = np.array([i % 2 == 1 for i in range(len(ids))])
    by_mask = index.search("三会一课 党建", k, odd)
    by_predicate = index.search("三会一课 党建", k, lambda cid: int(cid[1:]) % 2 == 1)
    assert by_mask == by_predicate and [cid for cid, _ in by_mask] == [ids[i] for i in ranked if i % 2][:k]
