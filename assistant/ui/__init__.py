"""The Gradio web UI (the only package that imports gradio)."""
