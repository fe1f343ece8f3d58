"""Check the labelled detection set in this folder and print its make-up.

Not a test: a tool for whoever edits the set. It verifies that
  - every .txt file has a label in labels.yaml and every label has a file;
  - every label has valid fields (type, variant of that type, sector, level, title, party, note);
  - the title flag agrees with the first line (a title line is short, has no sentence punctuation, and is not a
    heading or salutation);
  - each type has at least MIN_PER_TYPE documents and the set at least MIN_TOTAL;
  - no fictional file shares a run of RUN characters with a seed document in corpus/ or with another fictional
    file, once the fixed formulas below are cut out (whitespace removed, ASCII punctuation mapped to full width);
  - each public-corpus excerpt is exactly the stated lines of its source file.
Then it prints counts per type and variant, sector, level, title, party and length band.

    python tests/data/detection/check_set.py [--seeds DIR] [--public-corpus DIR]

Exit status 1 when anything is wrong.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
RUN = 16
MIN_PER_TYPE = 18
MIN_TOTAL = 80
LONG, SHORT = 1500, 900  # length bands in characters (excerpts are mostly under SHORT)

VARIANTS = {
    "speech": {
        "work-meeting",
        "training-mobilisation",
        "school-opening",
        "parent-meeting",
        "symposium",
        "commendation",
        "party-lecture",
    },
    "duty-report": {"annual", "shuzhi-shulian", "four-shu", "team", "term", "party-building"},
    "research-report": {"problem-led", "experience-led", "survey"},
    "work-report": {"meeting-report", "situation-report", "pledge", "exchange"},
    "summary": {"annual", "half-year", "special", "gov-report-review"},
}
LEVELS = {"village", "township", "county", "city", "provincial", "national", "enterprise"}
FIELDS = {"type", "variant", "sector", "level", "title", "party", "note"}

# Fixed formulas any writer repeats word for word; they are cut out before runs are compared.
FORMULAS = [
    "汇报完毕，不当之处，请各位领导批评指正",
    "不当之处，请各位领导批评指正",
    "以上报告，请予评议",
    "以上述职，请予评议",
    "现将有关情况报告如下",
    "现将调研情况报告如下",
    "特此报告",
    "习近平新时代中国特色社会主义思想",
    "以习近平同志为核心的党中央",
    "深刻领悟“两个确立”的决定性意义",
    "增强“四个意识”、坚定“四个自信”、做到“两个维护”",
    "党的二十大和二十届历次全会精神",
    "中央八项规定及其实施细则精神",
    "严格执行中央八项规定及其实施细则精神",
    "严格落实中央八项规定及其实施细则精神",
    "习近平总书记重要讲话和重要指示批示精神",
    "党风廉政建设和反腐败工作",
    "防止干预司法“三个规定”",
]

WHITESPACE = re.compile(r"[\s\u3000\u200b\u200c\u200d\ufeff]+")
TO_FULL = str.maketrans({",": "，", ":": "：", ";": "；", "(": "（", ")": "）", "!": "！", "?": "？"})
HEADING = re.compile(
    r"^(?:[一二三四五六七八九十]+、|（[一二三四五六七八九十]+）|\([一二三四五六七八九十]+\)|\d+[.、．])"
)
FORMULA_RE = re.compile("|".join(re.escape(f) for f in sorted(FORMULAS, key=len, reverse=True)))


def yes_no(value) -> str | None:
    if value is True or value == "yes":
        return "yes"
    if value is False or value == "no":
        return "no"
    return None


def first_line(text: str) -> str:
    for line in text.splitlines():
        stripped = WHITESPACE.sub("", line)
        if stripped:
            return stripped
    return ""


def looks_like_title(line: str) -> bool:
    if not line or len(line) > 60 or HEADING.match(line):
        return False
    return not re.search(r"[。：:！!；;]$", line) and "。" not in line


def pieces(text: str) -> list[str]:
    """The text without whitespace, split at fixed formulas and line breaks (runs never cross them)."""
    out = []
    for line in text.splitlines():
        line = WHITESPACE.sub("", line).translate(TO_FULL)
        out.extend(p for p in FORMULA_RE.split(line) if len(p) >= RUN)
    return out


def shingles(text: str) -> dict[str, int]:
    grams: dict[str, int] = {}
    for piece in pieces(text):
        for i in range(len(piece) - RUN + 1):
            grams.setdefault(piece[i : i + RUN], i)
    return grams


def shared_runs(a: str, b_grams: set[str]) -> list[str]:
    """Maximal runs of `a` (per piece) made of RUN-grams found in `b_grams`."""
    runs = []
    for piece in pieces(a):
        i, n = 0, len(piece)
        while i <= n - RUN:
            if piece[i : i + RUN] in b_grams:
                j = i
                while j + 1 <= n - RUN and piece[j + 1 : j + 1 + RUN] in b_grams:
                    j += 1
                runs.append(piece[i : j + RUN])
                i = j + 1
            else:
                i += 1
    return runs


def find_public_corpus(arg: str | None) -> Path | None:
    candidates = [arg] if arg else []
    candidates += [
        REPO / "corpus-public",
        os.environ.get("PUBLIC_CORPUS_DIR"),
        REPO.parent / "shared" / "public-corpus",
    ]
    candidates += [REPO.parent.parent / "shared" / "public-corpus", "/work/shared/public-corpus"]
    for cand in candidates:
        if cand and Path(cand).is_dir():
            return Path(cand)
    return None


def check(seeds_dir: Path, public_dir: Path | None) -> tuple[list[str], dict]:
    problems: list[str] = []
    labels = yaml.safe_load((HERE / "labels.yaml").read_text(encoding="utf-8")) or {}
    files = {p.name: p.read_text(encoding="utf-8") for p in sorted(HERE.glob("*.txt"))}

    for name in sorted(set(files) - set(labels)):
        problems.append(f"{name}: no label")
    for name in sorted(set(labels) - set(files)):
        problems.append(f"{name}: labelled but no file")

    for name, lab in labels.items():
        if not isinstance(lab, dict):
            problems.append(f"{name}: label is not a mapping")
            continue
        missing = FIELDS - set(lab)
        if missing:
            problems.append(f"{name}: missing fields {sorted(missing)}")
        doc_type, variant = lab.get("type"), lab.get("variant")
        if doc_type not in VARIANTS:
            problems.append(f"{name}: unknown type {doc_type!r}")
        elif variant not in VARIANTS[doc_type]:
            problems.append(f"{name}: variant {variant!r} is not one of {sorted(VARIANTS[doc_type])}")
        if lab.get("level") not in LEVELS:
            problems.append(f"{name}: unknown level {lab.get('level')!r}")
        for flag in ("title", "party"):
            if yes_no(lab.get(flag)) is None:
                problems.append(f"{name}: {flag} must be yes or no")
        if not str(lab.get("sector") or "").strip() or not str(lab.get("note") or "").strip():
            problems.append(f"{name}: empty sector or note")
        if name in files and yes_no(lab.get("title")) is not None:
            titled = looks_like_title(first_line(files[name]))
            if titled != (yes_no(lab["title"]) == "yes"):
                problems.append(
                    f"{name}: title={yes_no(lab['title'])} but first line is {first_line(files[name])[:30]!r}"
                )

    counts = Counter(lab.get("type") for lab in labels.values() if isinstance(lab, dict))
    for doc_type in VARIANTS:
        if counts[doc_type] < MIN_PER_TYPE:
            problems.append(f"type {doc_type}: {counts[doc_type]} documents, fewer than {MIN_PER_TYPE}")
    if len(files) < MIN_TOTAL:
        problems.append(f"{len(files)} documents, fewer than {MIN_TOTAL}")

    # public-corpus excerpts: the exact lines of their source
    public = {n for n, lab in labels.items() if isinstance(lab, dict) and "source" in lab}
    for name in sorted(public & set(files)):
        src = labels[name]["source"]
        if public_dir is None:
            problems.append(f"{name}: public corpus folder not found, cannot verify the excerpt")
            continue
        start, end = (int(x) for x in str(src["lines"]).split("-"))
        lines = (public_dir / src["file"]).read_text(encoding="utf-8").split("\n")
        expected = "\n".join(lines[start - 1 : end]).strip("\n") + "\n"
        if files[name] != expected:
            problems.append(f"{name}: not lines {src['lines']} of {src['file']}")

    # shared runs: fictional files against the seeds and against each other
    fictional = sorted(set(files) - public)
    grams = {name: shingles(files[name]) for name in fictional}
    seeds = {p.name: p.read_text(encoding="utf-8") for p in sorted(seeds_dir.glob("*.txt"))}
    if not seeds:
        problems.append(f"no seed documents found in {seeds_dir}")
    for seed_name, seed_text in seeds.items():
        seed_grams = set(shingles(seed_text))
        for name in fictional:
            for run in shared_runs(files[name], seed_grams):
                problems.append(f"{name}: shares {len(run)} characters with seed {seed_name}: {run}")
    owners: dict[str, set[str]] = defaultdict(set)
    for name in fictional:
        for gram in grams[name]:
            owners[gram].add(name)
    pairs = sorted({tuple(sorted(o)) for o in owners.values() if len(o) > 1})
    reported = set()
    for group in pairs:
        for i, a in enumerate(group):
            for b in group[i + 1 :]:
                if (a, b) in reported:
                    continue
                reported.add((a, b))
                for run in shared_runs(files[a], set(grams[b])):
                    problems.append(f"{a} and {b} share {len(run)} characters: {run}")
    return problems, {"labels": labels, "files": files}


def table(title: str, rows: list[tuple], header: tuple) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]
    lines = [title, "  ".join(str(h).ljust(w) for h, w in zip(header, widths, strict=True))]
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(lines)


def crosstab(labs: dict, value_of, values: list[str]) -> list[tuple]:
    """One row per value: its count under each type, then in all."""
    rows = []
    for value in values:
        names = [n for n in labs if value_of(n) == value]
        per_type = [sum(1 for n in names if labs[n]["type"] == t) for t in VARIANTS]
        rows.append((value, *per_type, len(names)))
    return rows


def band(length: int) -> str:
    if length < SHORT:
        return f"< {SHORT}"
    return f">= {LONG}" if length >= LONG else f"{SHORT}-{LONG - 1}"


def report(labels: dict, files: dict) -> str:
    labs = {n: lab for n, lab in labels.items() if n in files and isinstance(lab, dict)}
    by_type = Counter(lab["type"] for lab in labs.values())
    by_variant = Counter((lab["type"], lab["variant"]) for lab in labs.values())
    rows = [(t, v, by_variant[(t, v)]) for t in VARIANTS for v in sorted(VARIANTS[t]) if by_variant[(t, v)]]
    rows += [(t, "(all)", by_type[t]) for t in VARIANTS]
    out = [table("documents per type and variant", rows, ("type", "variant", "n"))]

    header = ("", *VARIANTS, "all")
    for key in ("sector", "level"):
        values = sorted({str(lab[key]) for lab in labs.values()})
        out.append(table(f"\n{key} x type", crosstab(labs, lambda n, k=key: str(labs[n][k]), values), header))
    for flag in ("title", "party"):
        rows = crosstab(labs, lambda n, f=flag: f"{f}={yes_no(labs[n][f])}", [f"{flag}=yes", f"{flag}=no"])
        out.append(table(f"\n{flag} x type", rows, header))
    lengths = {n: len(WHITESPACE.sub("", files[n])) for n in labs}
    bands = [band(0), band(SHORT), band(LONG)]
    out.append(
        table(
            "\nlength (characters without whitespace) x type",
            crosstab(labs, lambda n: band(lengths[n]), bands),
            header,
        )
    )
    public = sum(1 for lab in labs.values() if "source" in lab)
    out.append(
        f"\n{len(labs)} documents ({len(labs) - public} written for the set, {public} public-corpus excerpts); "
        f"shortest {min(lengths.values())}, longest {max(lengths.values())} characters"
    )
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default=str(REPO / "corpus"), help="folder of seed documents (corpus/)")
    parser.add_argument("--public-corpus", default=None, help="folder of the public corpus")
    args = parser.parse_args()
    problems, data = check(Path(args.seeds), find_public_corpus(args.public_corpus))
    print(report(data["labels"], data["files"]))
    if problems:
        print(f"\n{len(problems)} problem(s):")
        for line in problems:
            print("  " + line)
        return 1
    print("\nclean")
    return 0


if __name__ == "__main__":
    sys.exit(main())
