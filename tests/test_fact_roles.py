"""The writer's materials read as facts: the role of each sentence agrees with what a writer labelled in the
eval cases, and points are found where the sentence names them."""

from __future__ import annotations

from collections import Counter

import pytest

from assistant.content import facts
from assistant.evals.cases import load_cases
from assistant.settings import PROJECT_ROOT

CASES = load_cases(PROJECT_ROOT / "evals" / "cases")
LABELLED = [(f["text"], f["role"]) for c in CASES for f in c.facts if f.get("role")]


def test_roles_agree_with_the_writers_labels_on_the_eval_cases() -> None:
    assert len(LABELLED) >= 100
    agree = Counter(facts.role_of(text) == role for text, role in LABELLED)
    share = agree[True] / len(LABELLED)
    assert share >= 0.8, f"{share:.0%} of {len(LABELLED)} labelled sentences"


@pytest.mark.parametrize(
    ("sentence", "role"),
    [
        ("问卷调查显示，63.5%的受访老人认为上门服务项目偏少。", "problem"),
        ("由于运营补贴标准偏低，部分站点运营困难。", "cause"),
        ("下一步将新建助餐点20个。", "plan"),
        ("今年以来全市共排查整治安全隐患3426处，约谈企业负责人57人。", "achievement"),
        ("全县60岁以上老年人口12.3万人，占总人口的21.5%。", "background"),
        ("调研组共走访服务站36个，发放问卷1200份。", "background"),
        ("本人严格执行中央八项规定精神，全年未发生违规接受宴请问题。", "achievement"),
    ],
)
def test_a_sentence_is_read_as_the_part_it_belongs_to(sentence: str, role: str) -> None:
    assert facts.role_of(sentence) == role


def test_materials_split_into_fact_sentences_without_bullets() -> None:
    found = facts.split(["1. 全年召开支委会12次；\n- 发展党员2名。\n一、培训党员80人次"])
    assert found == ["全年召开支委会12次；", "发展党员2名。", "培训党员80人次。"]


def test_a_fact_belongs_to_the_point_it_names() -> None:
    points = ["助餐服务", "专业护理人才", "隐患排查整治"]
    assert facts.point_of("下一步将新建助餐点20个，扩大助餐服务覆盖面。", points) == "助餐服务"
    assert facts.point_of("全年排查整治隐患126处。", points) == "隐患排查整治"
    assert facts.point_of("全县老年人口12.3万人。", points) == ""
