"""Type detection measured on the labelled set (tests/data/detection) and the five seeds (catalog types
removed): accuracy per type, a confusion table, and a calibration table, for the development half, the
held-out half and all of it; and on texts of none of the types (tests/data/detection_none: a notice, minutes,
a news item, a plan, an essay, a request, an open letter, a bulletin), which should stay 未识别.

A document counts as right when the detector's best type is its label *and* the confidence reaches the
index's threshold (``ingest.MIN_TYPE_CONFIDENCE``): below it the index records 未识别, so that is what a
writer sees. The halves: per type, in file-name order, the 1st, 3rd, 5th … file is development, the 2nd,
4th, 6th … held out (``split_of``); the detector's words were written against the development half only.

    python scripts/detection_report.py                       # this tree's detector
    python scripts/detection_report.py --save before.json    # keep the figures
    python scripts/detection_report.py --before scripts/detection_before.json   # before/after side by side

Run with ``PYTHONPATH=<another checkout>`` to measure that checkout's detector (the "before" figures were
taken so, on main at 93401de, whose detector knows four types: every 工作总结 is wrong there by design).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SET = ROOT / "tests" / "data" / "detection"
SEEDS = ROOT / "corpus"
NONE = ROOT / "tests" / "data" / "detection_none"  # texts of none of the types (notice, minutes, news …)
UNKNOWN = "未识别"


def labelled() -> dict[str, str]:
    data = yaml.safe_load((SET / "labels.yaml").read_text(encoding="utf-8"))
    return {name: entry["type"] for name, entry in data.items()}


def split_of(labels: dict[str, str]) -> dict[str, str]:
    """ "dev" or "held-out" per file: alternate within each type, in file-name order."""
    out: dict[str, str] = {}
    for doc_type in sorted(set(labels.values())):
        names = sorted(n for n, t in labels.items() if t == doc_type)
        for i, name in enumerate(names):
            out[name] = "dev" if i % 2 == 0 else "held-out"
    return out


def predict(paths: list[Path]) -> dict[str, tuple[str, float, str]]:
    """(shown type, confidence, best type) per file name, as the index would record it."""
    from assistant.index import ingest, loaders, structure

    threshold = ingest.MIN_TYPE_CONFIDENCE
    out = {}
    for path in paths:
        document = loaders.load_document(path, {})
        doc_type, confidence = structure.detect_type(document.text)
        out[path.name] = (doc_type if confidence >= threshold and doc_type else UNKNOWN, confidence, doc_type)
    return out


def measure() -> dict:
    labels = labelled()
    halves = split_of(labels)
    predicted = predict([SET / name for name in sorted(labels)])
    seed_catalog = yaml.safe_load((SEEDS / "catalog.yaml").read_text(encoding="utf-8"))
    seeds = predict(sorted(SEEDS / name for name in seed_catalog))
    rows = [
        {
            "file": name,
            "label": labels[name],
            "half": halves[name],
            "shown": p[0],
            "confidence": p[1],
            "best": p[2],
        }
        for name, p in predicted.items()
    ]
    rows += [
        {
            "file": name,
            "label": seed_catalog[name]["type"],
            "half": "seed",
            "shown": p[0],
            "confidence": p[1],
            "best": p[2],
        }
        for name, p in seeds.items()
    ]
    if NONE.is_dir():
        rows += [
            {"file": name, "label": UNKNOWN, "half": "none", "shown": p[0], "confidence": p[1], "best": p[2]}
            for name, p in predict(sorted(NONE.glob("*.txt"))).items()
        ]
    return {"rows": rows}


def _accuracy(rows: list[dict]) -> dict:
    per_type: dict[str, list[int]] = {}
    for row in rows:
        hit = per_type.setdefault(row["label"], [0, 0])
        hit[0] += row["shown"] == row["label"]
        hit[1] += 1
    right = sum(h[0] for h in per_type.values())
    return {"per_type": per_type, "right": right, "total": len(rows)}


def _pct(right: int, total: int) -> str:
    return f"{right}/{total} ({100 * right / total:.1f} %)" if total else "—"


def report(result: dict, before: dict | None = None, list_held_out: bool = True) -> str:
    lines: list[str] = []
    groups = [("all", lambda r: r["half"] in ("dev", "held-out")), ("dev", lambda r: r["half"] == "dev")]
    groups += [("held-out", lambda r: r["half"] == "held-out"), ("seeds", lambda r: r["half"] == "seed")]
    groups += [("none", lambda r: r["half"] == "none")]
    types = sorted({r["label"] for r in result["rows"]})
    head = f"{'':10}{'':18}" + ("".join(f"{'before':>18}" for _ in [0]) if before else "") + f"{'after':>18}"
    lines.append("Accuracy (shown type == label; 未识别 counts as wrong)")
    lines.append(head)
    for name, keep in groups:
        now = _accuracy([r for r in result["rows"] if keep(r)])
        then = _accuracy([r for r in before["rows"] if keep(r)]) if before else None
        for doc_type in [*types, "(all)"]:
            cur = now["per_type"].get(doc_type) if doc_type != "(all)" else [now["right"], now["total"]]
            if not cur:
                continue
            old = ""
            if then is not None:
                prev = (
                    then["per_type"].get(doc_type) if doc_type != "(all)" else [then["right"], then["total"]]
                )
                old = f"{_pct(*prev) if prev else '—':>18}"
            lines.append(f"{name:10}{doc_type:18}{old}{_pct(*cur):>18}")
        lines.append("")
    for label, data in (("before", before), ("after", result)):
        if data is None:
            continue
        lines.append(f"Confusion ({label}, all labelled documents; rows: label, columns: shown)")
        lines.append(confusion([r for r in data["rows"] if r["half"] in ("dev", "held-out")]))
        lines.append("")
    lines.append(
        "Calibration (after): confidence band → share of documents whose likeliest type is their label"
    )
    lines.append(
        "(labelled documents and the texts of no type, which are never right; a calibrated detector's"
    )
    lines.append("share in each band lies within it)")
    lines.append(calibration([r for r in result["rows"] if r["half"] in ("dev", "held-out", "none")]))
    wrong = [
        r for r in result["rows"] if r["shown"] != r["label"] and (list_held_out or r["half"] != "held-out")
    ]
    if wrong:
        lines.append("")
        lines.append("Wrong (after):")
        for r in wrong:
            lines.append(
                f"  {r['file']:28} {r['half']:9} label {r['label']:16} shown {r['shown']} {r['confidence']:.3f}"
            )
    return "\n".join(lines)


def confusion(rows: list[dict]) -> str:
    labels = sorted({r["label"] for r in rows})
    shown = [*labels, *sorted({r["shown"] for r in rows} - set(labels))]
    counts = Counter((r["label"], r["shown"]) for r in rows)
    width = max(len(s) for s in shown) + 2
    out = [f"{'':18}" + "".join(f"{s:>{width}}" for s in shown)]
    for label in labels:
        out.append(f"{label:18}" + "".join(f"{counts[(label, s)]:>{width}}" for s in shown))
    return "\n".join(out)


def calibration(rows: list[dict]) -> str:
    bands = [(0.0, 0.5), (0.5, 0.7), (0.7, 0.9), (0.9, 0.99), (0.99, 1.01)]
    out = []
    for low, high in bands:
        inside = [r for r in rows if low <= r["confidence"] < high]
        right = sum(r.get("best", r["shown"]) == r["label"] for r in inside)
        out.append(
            f"  [{low:.2f}, {min(high, 1.0):.2f})  {len(inside):4d} documents  {_pct(right, len(inside))}"
        )
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--save", type=Path, help="write the figures as JSON")
    parser.add_argument("--before", type=Path, help="figures saved earlier, shown beside this run's")
    parser.add_argument(
        "--dev",
        action="store_true",
        help="list the wrong documents of the development half only (while tuning)",
    )
    args = parser.parse_args(argv)
    result = measure()
    if args.save:
        args.save.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    before = json.loads(args.before.read_text(encoding="utf-8")) if args.before else None
    print(report(result, before, list_held_out=not args.dev))
    return 0


if __name__ == "__main__":
    sys.exit(main())
