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

check: build
	python3 test/run.py --binary $(BUILD)/pgpdesk

clean:
	rm -rf $(BUILD)
