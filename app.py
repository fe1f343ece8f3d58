"""Start the web UI: ``.venv/bin/python app.py`` (address and login from the settings; see README)."""

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

from assistant.settings import load_settings  # noqa: E402
from assistant.ui.app import build_app, launch  # noqa: E402

if __name__ == "__main__":
    settings = load_settings()
    launch(build_app(settings), settings)
