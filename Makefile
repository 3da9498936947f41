# The two commands of README's Quick start. Each sets up .venv first if it needs to.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: run test lint lock twilio-say

run: $(STAMP)
	$(VENV)/bin/ivr serve

test: $(STAMP)
	$(VENV)/bin/python -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# Pinned versions, checked against their hashes; then the project itself, without resolving again.
$(STAMP): pyproject.toml requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet --require-hashes -r requirements-dev.txt
	$(VENV)/bin/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# After changing dependencies in pyproject.toml: pin them again, newest versions that fit.
lock: $(STAMP)
	$(VENV)/bin/uv pip compile pyproject.toml --universal --python-version 3.11 \
		--generate-hashes --upgrade -o requirements.txt
	$(VENV)/bin/uv pip compile pyproject.toml --universal --python-version 3.11 \
		--generate-hashes --upgrade --extra dev -o requirements-dev.txt

# Twilio's own list of the voices and languages <Say> takes, from its npm package's TwiML
# definitions, into ivr/menu/twilio_say.py. Needs npm.
twilio-say: $(STAMP)
	dir=$$(mktemp -d) && (cd $$dir && npm pack --silent twilio > /dev/null && tar xzf twilio-*.tgz) \
		&& $(VENV)/bin/python -m ivr.tools.twilio_say $$dir/package/lib/twiml/VoiceResponse.d.ts \
			$$dir/package/package.json; status=$$?; rm -rf $$dir; exit $$status
