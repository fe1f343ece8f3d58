"""An ingest in a child process that tests can stop where they choose and kill (SIGKILL), as a writer's
machine might be switched off: ``python tests/ingest_child.py INDEX CORPUS [--rebuild] [--pause-after N]
[--group N]``.

With ``--pause-after N`` it prints ``paused`` after the N-th document is ready and then waits forever
(holding the index's write lock, mid-ingest); ``--pause-before-save N`` does so at the N-th manifest commit,
after that group's vectors are already in Chroma; ``--group`` makes the commit groups small, so that
several groups are committed before that point. The embedder is ``hashing`` (fast, deterministic) unless
``--embedder`` names another.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("index")
    parser.add_argument("corpus")
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--pause-after", type=int, default=0)
    parser.add_argument("--group", type=int, default=0)
    parser.add_argument("--pause-before-save", type=int, default=0)
    parser.add_argument("--embedder", default="hashing")
    args = parser.parse_args()

    from assistant.index import ingest as ingest_mod
    from assistant.settings import Settings

    if args.group:
        ingest_mod.GROUP_CHUNKS = args.group

    def pause() -> None:
        print("paused", flush=True)
        while True:
            time.sleep(60)

    def progress(done: int, total: int, message: str) -> None:
        if args.pause_after and done >= args.pause_after:
            pause()

    if args.pause_before_save:
        saves = [0]
        save = ingest_mod.Manifest.save

        def save_or_pause(manifest) -> None:  # after a group's vectors are in Chroma, before its commit
            saves[0] += 1
            if saves[0] == args.pause_before_save:
                pause()
            save(manifest)

        ingest_mod.Manifest.save = save_or_pause

    settings = Settings(index_dir=Path(args.index), embedder=args.embedder, corpus_dir=Path(args.corpus))
    report = ingest_mod.ingest([Path(args.corpus)], settings, rebuild=args.rebuild, progress=progress)
    print(f"done {report.documents_total}", flush=True)


if __name__ == "__main__":
    main()
