"""Hand-made passages from the seed documents and a small in-memory retriever over them.

They let the composer and the pipeline be tested without an index (and fast): each seed is cut at its
level-1 headings (or topic paragraphs) into passages with the role a reader would give them. The real
index is exercised by the tests that use the ``seed_settings`` fixture.
"""

from __future__ import annotations

import hashlib
import re

from assistant.draft.units import overlap
from assistant.records import Chunk, Passage
from assistant.settings import PROJECT_ROOT

CORPUS = PROJECT_ROOT / "corpus"

# file -> (type, title, [(first line prefix that starts a part, role, heading path)])
_PARTS = {
    "000_6bfbaef6554af9b3.txt": (
        "work-report",
        "市社会保险事业管理局机关党建工作进展情况汇报发言",
        [
            ("尊敬的", "opening", ""),
            ("对标政治强统领", "achievements", "对标政治强统领"),
            ("找准切口强载体", "achievements", "找准切口强载体"),
            ("搭建桥梁强传导", "achievements", "搭建桥梁强传导"),
            ("夯实底部强基础", "achievements", "夯实底部强基础"),
            ("双轮驱动强提升", "achievements", "双轮驱动强提升"),
            ("汇报完毕", "closing", ""),
        ],
    ),
    "001_6e9dedf2a6c80475.txt": (
        "speech",
        "局党组书记在“红旗党支部”展示暨书记抓党建述职会上的讲话",
        [
            ("同志们：", "opening", ""),
            ("刚才", "achievements", "成效"),
            ("当然", "problems", "问题"),
            ("这些问题存在的原因", "causes", "原因"),
            ("这次", "requirements", ""),
            ("一、要坚持政治导向", "requirements", "一、要坚持政治导向，进一步强化思想引领"),
            ("二、要坚持问题导向", "requirements", "二、要坚持问题导向，进一步破解工作难点"),
            ("三、要坚持从严导向", "requirements", "三、要坚持从严导向，进一步推动责任落实"),
            ("四、坚定不移", "requirements", "四、坚定不移推进人社系统党风廉政建设"),
            ("同志们，抓基层", "closing", ""),
        ],
    ),
    "002_fbcf8ade7eff2f0f.txt": (
        "duty-report",
        "医保局机关党支部书记2023年抓基层党建工作述职报告",
        [
            ("根据", "opening", ""),
            ("一、履职情况", "achievements", "一、履职情况"),
            ("二、存在的问题", "problems", "二、存在的问题"),
            ("三、下一步工作打算", "measures", "三、下一步工作打算"),
        ],
    ),
    "003_93c6ebaee80d2d0d.txt": (
        "work-report",
        "工委在全市机关党建工作高质量发展推进会上的汇报发言",
        [
            ("工委在", "other", ""),
            ("坚持不懈推进", "achievements", "坚持不懈推进政治机关建设"),
            ("着力强化", "achievements", "着力强化党的创新理论武装"),
            ("持之以恒", "achievements", "持之以恒打基础、固根本"),
            ("##paidbegin##积极主动", "achievements", "积极主动围绕中心、服务大局"),
            ("深化“我为群众", "achievements", "深化“我为群众办实事”实践活动"),
            ("汇报完毕", "closing", ""),
        ],
    ),
    "004_98979e0a19b40566.txt": (
        "research-report",
        "关于在人社工作中充分发挥党支部战斗堡垒作用的调研报告",
        [
            ("为认真贯彻", "opening", ""),
            ("一、党组织基本情况", "background", "一、党组织基本情况"),
            ("二、党组织建设中", "problems", "二、党组织建设中存在的问题"),
            ("(一)党组织班子", "problems", "二、党组织建设中存在的问题 / (一)党组织班子作用发挥不够"),
            ("(二)政治理论", "problems", "二、党组织建设中存在的问题 / (二)政治理论学习抓得不紧"),
            ("三、对策建议", "measures", "三、对策建议"),
            ("(一)强化领导班子", "measures", "三、对策建议 / (一)强化领导班子建设"),
            ("(二)深化政治", "measures", "三、对策建议 / (二)深化政治理论学习"),
            ("(三)加强党员", "measures", "三、对策建议 / (三)加强党员教育管理"),
            ("(四)推进党建", "measures", "三、对策建议 / (四)推进党建与业务深度融合"),
            ("总之", "closing", ""),
        ],
    ),
}


def seed_passages() -> list[Passage]:
    out: list[Passage] = []
    for name, (doc_type, title, parts) in _PARTS.items():
        lines = [
            ln.strip().strip("\u3000") for ln in (CORPUS / name).read_text(encoding="utf-8").splitlines()
        ]
        lines = [ln for ln in lines if ln and not ln.startswith("##paidend")]
        groups: list[tuple[str, str, list[str]]] = []
        for line in lines:
            starts = next(((r, h) for prefix, r, h in parts if line.startswith(prefix)), None)
            if starts or not groups:
                role, path = starts or ("other", "")
                groups.append((role, path, []))
            groups[-1][2].append(line.replace("##paidbegin##", ""))
        for position, (role, path, body) in enumerate(groups):
            text = "\n".join(body)
            cid = hashlib.sha256(f"{name}{position}{text}".encode()).hexdigest()[:16]
            chunk = Chunk(cid, name[:3], title, doc_type, path, role, position, 0, len(text), text)
            out.append(Passage(chunk, 0.0))
    return out


class SeedRetriever:
    """``Retriever.search`` over the hand-made passages, scored by character-bigram overlap."""

    def __init__(self, passages: list[Passage] | None = None) -> None:
        self.passages = passages if passages is not None else seed_passages()
        self.queries: list[tuple[str, str | None, str | None]] = []

    def search(
        self, query: str, doc_type: str | None = None, role: str | None = None, k: int = 8
    ) -> list[Passage]:
        self.queries.append((query, doc_type, role))
        hits = [
            Passage(p.chunk, overlap(query, p.chunk.text))
            for p in self.passages
            if (doc_type is None or p.chunk.doc_type == doc_type) and (role is None or p.chunk.role == role)
        ]
        hits.sort(key=lambda p: -p.score)
        return hits[:k]


def has_redaction(text: str) -> bool:
    return bool(re.search(r"\*|某某|(?<![A-Za-z])X{1,3}(?![A-Za-z])", text))
