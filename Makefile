# Kezek: `make run` to try it, `make test` to check it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

LOCK := requirements/runtime.txt
TEST_LOCK := requirements/test.txt

.PHONY: run test lint lock install install-test migrate seed schema locales chromium clean

$(BIN)/python:
	@$(PYTHON) -c "import ensurepip, venv" 2>/dev/null || { \
	  echo "Installing Debian's python3-venv"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq python3-venv >/dev/null; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Both installs take every package from a lock with hashes (`make lock` writes them);
# Kezek itself is then installed without resolving anything again.
$(STAMP): pyproject.toml $(LOCK) | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

$(TEST_STAMP): pyproject.toml $(LOCK) $(TEST_LOCK) | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes -r $(TEST_LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP) $@

install: $(STAMP)
install-test: $(TEST_STAMP)

run: $(STAMP)
	$(BIN)/python -m server.cli run

migrate: $(STAMP)
	$(BIN)/python -m server.cli migrate

seed: $(STAMP)
	$(BIN)/python -m server.cli seed

# Browser tests drive Debian's Chromium (Playwright cannot download a browser here).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the browser tests"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

test: $(TEST_STAMP) chromium
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# ruff (lint and format) and mypy, as CI runs them.
lint: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Re-resolves the pins of pyproject.toml into the two locks (runtime; runtime + test + lint).
UV := uv==0.13.9
lock: | $(BIN)/python
	$(BIN)/python -m pip install --quiet "$(UV)"
	$(BIN)/uv pip compile pyproject.toml --python-version 3.11 --generate-hashes --quiet \
	  --custom-compile-command "make lock" -o $(LOCK)
	$(BIN)/uv pip compile pyproject.toml --python-version 3.11 --extra test --extra lint --generate-hashes --quiet \
	  --custom-compile-command "make lock" -c $(LOCK) -o $(TEST_LOCK)

# Regenerates schema/schema.graphql after a deliberate API change.
schema: $(STAMP)
	$(BIN)/python -m schema.export > schema/schema.graphql

# Re-extracts translatable strings and updates the kk/ru/en catalogs.
locales: $(TEST_STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k N_ -k N_plural:1,2 -o locales/messages.pot .
	$(BIN)/pybabel update -i locales/messages.pot -d locales --no-fuzzy-matching

clean:
	rm -rf $(VENV) var
