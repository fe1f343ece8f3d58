# The two commands a newcomer types:
#   make demo   installs everything, indexes corpus/ and drafts a research report on the embedded defaults
#   make test   installs everything and runs the whole test suite, lint and the eval gate
PY := .venv/bin/python

.PHONY: setup demo test lint eval-report

setup:
	bash scripts/setup.sh

demo: setup
	$(PY) -m assistant ingest corpus
	$(PY) -m assistant draft --type research-report --topic 发挥基层党支部战斗堡垒作用 \
	  --unit 市人力资源和社会保障局 --point 三会一课落实 --point 党建与业务融合 --point 党员教育管理 \
	  --out out/demo.docx
	$(PY) -m assistant draft --type research-report --topic 发挥基层党支部战斗堡垒作用 \
	  --unit 市人力资源和社会保障局 --point 三会一课落实 --point 党建与业务融合 --point 党员教育管理 \
	  --out out/demo.md
	@echo "demo: wrote out/demo.docx and out/demo.md; start the web UI with: $(PY) app.py"

lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

test: lint
	$(PY) -m assistant eval --compare evals/baseline --html out/eval-report.html
	$(PY) -m pytest -q
