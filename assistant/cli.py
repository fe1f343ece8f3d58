"""The command line: ``python -m assistant <command> …`` (also the ``assistant`` console script).

Each command group lives in ``assistant/commands/<group>.py`` with a ``register(subparsers)`` function that
adds its parsers and sets ``func`` to a handler ``(args, settings) -> int``. This module only dispatches,
builds the settings from the common flags and turns a ``UserError`` into one clear line on stderr.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from .errors import UserError, describe_os_error
from .settings import Settings, load_settings

COMMAND_MODULES = ("index", "draft", "evals", "llm", "web")
OS_ERROR_EXIT = 4  # the machine (disk, permissions) failed, not the input


def add_common(parser: argparse.ArgumentParser) -> None:
    """Flags every command takes."""
    parser.add_argument(
        "--index", dest="index_dir", metavar="DIR", help="索引文件夹（默认 index/ 或 ASSISTANT_INDEX_DIR）"
    )


def settings_from_args(args: argparse.Namespace) -> Settings:
    return load_settings(index_dir=getattr(args, "index_dir", None))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="assistant", description="公文写作助手：范文入库、检索、起草、评测。"
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"assistant.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"assistant.commands.{name}":
                continue  # that command group is not part of this build
            raise
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        settings = settings_from_args(args)
        return int(args.func(args, settings) or 0)
    except UserError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:  # disk full, read-only or forbidden folder: a message, not a traceback
        print(f"错误：{describe_os_error(exc)}", file=sys.stderr)
        return OS_ERROR_EXIT
    except KeyboardInterrupt:
        print("已中断。已写入的内容保持完整，再次运行同一命令即可继续。", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
