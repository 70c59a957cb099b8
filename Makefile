# The two set-up commands: `make run` and `make check`. Both install what is missing first.
BUILD ?= build

.PHONY: all deps build run check bench clean

all: build

deps:
	@scripts/install-deps

$(BUILD)/build.ninja:
	meson setup $(BUILD)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

# Starts the server on ./pgpdesk.db (SQLite); the first start prints the admin password.
run: build
	@cat doc/quickstart.txt
	@$(BUILD)/pgpdesk serve $(SERVE_ARGS)

# Browser-test screenshots go to $(BUILD)/screenshots; doc/screenshots holds the README's.
check: build
	npm ci --prefix test/ui --no-audit --no-fund
	PGPDESK_SCREENSHOTS=$(BUILD)/screenshots python3 test/run.py --binary $(BUILD)/pgpdesk

# The benchmark of issue 5, not part of check: builds pgpdesk and the bench programs, runs
# every workload side by side with gpg and sq (about ten minutes; it installs wrk when missing)
# and writes bench/results.md.
bench: deps $(BUILD)/build.ninja
	ninja -C $(BUILD) pgpdesk bench/pgpdesk-bench bench/bench-exec
	python3 bench/run.py --build $(BUILD)

clean:
	rm -rf $(BUILD)
