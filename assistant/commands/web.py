"""``python -m assistant web [--host HOST] [--port PORT]``: serve the web UI (起草 / 范文库 / 设置)."""

from __future__ import annotations

import argparse

from ..cli import add_common
from ..settings import Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("web", help="启动网页界面（默认 http://127.0.0.1:7860）")
    add_common(parser)
    parser.add_argument("--host", help="监听地址（默认 127.0.0.1；局域网共享用 0.0.0.0 并设置登录）")
    parser.add_argument("--port", type=int, help="端口（默认 7860）")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from ..ui.app import build_app, launch  # gradio is imported only when the web UI is started

    settings = settings.with_overrides(host=args.host, port=args.port)
    if settings.host not in ("127.0.0.1", "localhost", "::1") and not settings.auth_user:
        print("提示：界面将对局域网开放，建议设置 ASSISTANT_AUTH_USER 和 ASSISTANT_AUTH_PASSWORD 启用登录。")
    launch(build_app(settings), settings)
    return 0
