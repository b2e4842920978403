# Aliada: the two commands are `make run` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
APPS := gateway services.participants services.matching services.sessions services.evaluation services.notifications

.DEFAULT_GOAL := help
.PHONY: help venv system-packages lock migrate run demo test test-sqlite test-postgresql openapi bench-gateway bench-matching bench-supervision bench-views bench-tenants bench-load bench-faults bench-soak clean

help:
	@echo "make run    start the gateway (:8000), the five services (:8001-8005) and a mail server (:8025) on SQLite under var/"
	@echo "make test   run the whole suite on SQLite and on PostgreSQL, side by side"
	@echo "make demo   with make run going: play the Mexico pilot through the API (PILOT=peru for Peru)"
	@echo "make openapi   regenerate the committed OpenAPI documents under openapi/"
	@echo "make bench-gateway   print the gateway's latency and throughput figures"
	@echo "make bench-matching  print the matching engine's time and memory on pilot and large cohorts"
	@echo "make bench-supervision  print how early and how precisely dyad health warns on simulated cohorts"
	@echo "make bench-views  print the sessions program views' p50 and statements as a program grows to 5,000 dyads"
	@echo "make bench-tenants  print one institution's hot reads alone and beside 2,000 other institutions (ratio of p50s)"
	@echo "make bench-faults print what killing, stopping and restarting parts under load costs (errors, stall, writes lost)"
	@echo "make bench-soak   print what drifts over 10 minutes of the load (p99 per minute, RSS per process, database connections)"
	@echo "make bench-load   print the pilots' everyday use through the gateway under locust (requests/s, p50/p95/p99 per group)"

# The environment: a virtualenv with the pinned dependencies (requirements.lock)
# and the project itself installed in editable mode.
$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $(STAMP)

venv: $(STAMP)

# chromium (report screenshot test), wrk (bench/gateway), pango and fonts (the PDF report), from apt.
system-packages:
	@scripts/ensure-system-packages

# Re-pin after editing requirements.in (needs network access to the index).
lock:
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile requirements.in -o requirements.lock --python-version 3.11

migrate: venv
	@mkdir -p var
	@for app in $(APPS); do $(BIN)/python -m $$app migrate || exit 1; done

run: migrate
	@echo ""
	@echo "  Aliada is starting (Ctrl-C stops everything):"
	@echo "    gateway       http://127.0.0.1:8000      API docs: http://127.0.0.1:8000/docs"
	@echo "    participants  http://127.0.0.1:8001/docs"
	@echo "    matching      http://127.0.0.1:8002/docs"
	@echo "    sessions      http://127.0.0.1:8003/docs"
	@echo "    evaluation    http://127.0.0.1:8004/docs"
	@echo "    notifications http://127.0.0.1:8005/docs"
	@echo "    mail          SMTP on 127.0.0.1:8025; every message sent is an .eml file under var/mail/"
	@echo "    readiness     curl http://127.0.0.1:8000/readyz"
	@echo ""
	@echo "  Log in as the bootstrap admin (her password is GATEWAY_BOOTSTRAP_ADMIN_PASSWORD in var/dev.env,"
	@echo "  a local secret written on the first run):"
	@echo "    curl -d grant_type=password -d username=admin@aliada.local -d password=... http://127.0.0.1:8000/v1/auth/token"
	@echo "  In another terminal, make demo plays a whole pilot through the API."
	@echo ""
	@$(BIN)/python -m tools.dev_env var/dev.env
	@# A development platform runs on a simulation clock that `make demo` moves (libs/servicekit/clock.py).
	@# Webhook receivers on this machine (plain http, loopback) are allowed in development only.
	@ALIADA_CLOCK_FILE=$(CURDIR)/var/clock GATEWAY_WEBHOOKS_ALLOW_PRIVATE_TARGETS=true \
		exec $(BIN)/python -m tools.run

# With `make run` going in another terminal: the Mexico pilot (PILOT=peru: Peru)
# played through the public API on the simulation clock; writes var/demo/*.html.
PILOT ?= mexico
demo: venv
	@$(BIN)/python -m tools.demo --pilot $(PILOT)

# The whole suite on both backends side by side (scripts/run-tests); the two
# halves alone: make test-sqlite, make test-postgresql.
test: venv system-packages
	@PYTEST_ARGS="$(PYTEST_ARGS)" scripts/run-tests

test-sqlite: venv system-packages
	ALIADA_TEST_BACKEND=sqlite $(BIN)/python -m pytest $(PYTEST_ARGS)

test-postgresql: venv system-packages
	ALIADA_TEST_BACKEND=postgresql $(BIN)/python -m pytest $(PYTEST_ARGS)

openapi: venv
	$(BIN)/python -m tools.openapi write

bench-gateway: venv system-packages
	$(BIN)/python -m bench.gateway

bench-matching: venv
	$(BIN)/python -m bench.matching

bench-supervision: venv
	$(BIN)/python -m bench.supervision

bench-views: venv
	$(BIN)/python -m bench.views

bench-tenants: venv
	$(BIN)/python -m bench.tenants

# PostgreSQL on 127.0.0.1:5432 (bench_load_* databases, dropped at the end).
bench-load: venv
	$(BIN)/python -m bench.load

# The same load, while services and the gateway are killed, stopped and restarted
# (PostgreSQL too with ARGS=--postgresql: it fails the server's other users as well).
bench-faults: venv
	$(BIN)/python -m bench.faults $(ARGS)

# The load model for 10 minutes (ARGS="--minutes 2" for a short check): 5xx, p99 drift,
# RSS growth per process, connections per database (bench_soak_* on 127.0.0.1:5432, dropped at the end).
bench-soak: venv
	$(BIN)/python -m bench.soak $(ARGS)

clean:
	rm -rf var/*.db var/*.db-wal var/*.db-shm
