# sunsched: `make run` (the main job on the default scenario) and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
OUT ?= out/run
HOURS ?= 24
# make bench's scheduling bench (bench/scheduling.py): suite x policies x seeds of this many hours
BENCH_SEEDS ?= 3
BENCH_HOURS ?= 24

.PHONY: install run test test-slow bench lint clean

CONSOLE := groundsw/console
CONSOLE_STAMP := $(CONSOLE)/node_modules/.installed

install: $(STAMP) $(CONSOLE_STAMP)

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c requirements.lock -e '.[dev]'
	$(BIN)/python -m groundsw.keys init
	touch $(STAMP)

# the operator console's Open MCT bundle (pinned in package-lock.json), served by groundsw serve
$(CONSOLE_STAMP): $(CONSOLE)/package.json $(CONSOLE)/package-lock.json
	cd $(CONSOLE) && npm ci --no-audit --no-fund --loglevel=error
	touch $(CONSOLE_STAMP)

run: install
	$(BIN)/python -m groundsw.keys init >/dev/null
	$(BIN)/sim run --scenario default --hours $(HOURS) --mode hil --out $(OUT)

test: install
	$(BIN)/pytest -q -n 2 -p no:cacheprovider

test-slow: install
	$(BIN)/pytest -q -p no:cacheprovider -m slow
	$(BIN)/sim campaign --examples 10000 --workers 2 --chunk 20 --planted --planted-examples 100 --out out/campaign-slow --resume

bench: install
	$(BIN)/python bench/run_bench.py
	$(BIN)/python bench/world_step.py
	$(BIN)/python bench/app_step_cost.py
	$(BIN)/python bench/cfdp_goodput.py
	$(BIN)/python bench/scheduling.py --seeds $(BENCH_SEEDS) --hours $(BENCH_HOURS) --out out/bench-scheduling

lint: install
	$(BIN)/ruff check flightsw sim groundsw tests bench

clean:
	rm -rf out .pytest_cache .hypothesis
