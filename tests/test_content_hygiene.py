"""What makes a corpus sentence unusable (hygiene) and which formulations are wrong (tifa): the seeds'
own redactions, scraping gaps and typos are found, and clean official prose is not flagged."""

from __future__ import annotations

import pytest

from assistant.content import hygiene, tifa
from assistant.settings import PROJECT_ROOT

SEEDS = sorted((PROJECT_ROOT / "corpus").glob("00*.txt"))


@pytest.mark.parametrize(
    ("text", "right"),
    [
        ("坚持以习近平中国特色社会主义思想为指导", "习近平新时代中国特色社会主义思想"),
        ("部分党员重业务轻的思想还不同程度地存在", "重业务轻党建的思想"),
        ("工作和业务工作还存在“两张皮”的现象", "党建工作和业务工作"),
        ("对工作打开不局面的必须整顿", "打不开局面"),
        ("坚决做到“两个确立”", "深刻领悟“两个确立”的决定性意义"),
        ("召开党的二十届全国代表大会", "党的第二十次全国代表大会（党的二十大）"),
        ("学习贯彻二十大三中全会精神", "党的二十届×中全会"),
        ("坚持以人民为中心的发展理念", "以人民为中心的发展思想"),
    ],
)
def test_wrong_forms_are_found_with_the_right_one(text: str, right: str) -> None:
    hits = tifa.find(text, 2024)
    assert [h.right for h in hits] == [right]
    assert text[hits[0].start : hits[0].end] == hits[0].wrong


@pytest.mark.parametrize(
    "text",
    [
        "坚持以习近平新时代中国特色社会主义思想为指导",
        "深刻领悟“两个确立”的决定性意义，增强“四个意识”、坚定“四个自信”、做到“两个维护”",
        "在思想上政治上行动上同以习近平同志为核心的党中央保持高度一致",
        "推动党建工作和业务工作深度融合",
        "学习贯彻党的二十大和二十届三中全会精神",
        "坚持以人民为中心的发展思想",
    ],
)
def test_right_forms_pass(text: str) -> None:
    assert tifa.find(text, 2024) == []


def test_dated_forms_depend_on_the_year() -> None:
    text = "认真学习贯彻党的十九大精神，统筹做好疫情防控和经济社会发展。"
    assert tifa.find(text, 2021) == []
    assert {h.kind for h in tifa.find(text, 2024)} == {"dated"}
    assert tifa.document_year("某局2023年工作总结\n一、…") == 2023


def test_the_seeds_own_defects_are_reported_at_ingest() -> None:
    by_file = {p.name: hygiene.document_warnings(p.read_text(encoding="utf-8")) for p in SEEDS}
    kinds = {name: {w["kind"] for w in ws} for name, ws in by_file.items()}
    assert "redaction" in kinds["000_6bfbaef6554af9b3.txt"]  # **市, *个
    assert {"tifa", "typo"} <= kinds["001_6e9dedf2a6c80475.txt"]  # 习近平中国特色…, 打开不局面
    assert {"gap", "typo"} <= kinds["002_fbcf8ade7eff2f0f.txt"]  # 共召开民主生活会次, 重业务轻的思想
    assert "marker" in kinds["003_93c6ebaee80d2d0d.txt"]  # ##paidbegin##
    assert "redaction" in kinds["004_98979e0a19b40566.txt"]  # XX人
    gap = next(w for w in by_file["002_fbcf8ade7eff2f0f.txt"] if w["kind"] == "gap")
    assert gap["text"] in gap["context"]


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("去年X月X日，我们召开了专题会议。", "脱敏或占位标记"),
        ("**书记带头讲党课。", "脱敏或占位标记"),
        ("×校长作为全省唯一代表作交流发言。", "脱敏或占位标记"),
        ("班子成员共召开民主生活会次。", "疑似抓取残缺"),
        ("##paidbegin##推进机关党建。", "抓取残留标记"),
        ("部分党员重业务轻的思想还不同程度地存在。", "错字或残缺"),
    ],
)
def test_unusable_sentences_say_why(sentence: str, expected: str) -> None:
    issues = hygiene.sentence_issues(sentence, 2024)
    assert issues and expected in issues[0]


@pytest.mark.parametrize(
    "sentence",
    [
        "二〇〇八年以来，全县共建成村级卫生室42个。",
        "今年以来全市共排查整治安全隐患3426处，约谈企业负责人57人。",
        "要坚持人民至上、生命至上，压紧压实防汛责任。",
    ],
)
def test_clean_sentences_pass(sentence: str) -> None:
    assert hygiene.sentence_issues(sentence, 2024) == []
