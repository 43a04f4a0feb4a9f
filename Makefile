# The two commands of the README: `make run` (the main job) and `make test` (the suite).
# Both install what they need first: apt packages, a virtualenv, the Kafka broker's jars.
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test setup bench bench-wallboard bench-restart lint

run: setup
	$(BIN)/radar run

test: setup
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest

bench: setup
	$(BIN)/python -m bench

bench-wallboard: setup
	$(BIN)/python -m bench.wallboard

bench-restart: setup
	$(BIN)/python -m bench.restart

setup:
	bash infra/setup
