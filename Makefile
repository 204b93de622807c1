# The two commands a newcomer needs: `make test` and `make demo`.
# Each installs its own dependencies (idempotent), builds, and runs.
BUILD_DIR ?= build
JOBS ?= $(shell nproc)

.PHONY: test demo deps build clean

deps:
	@scripts/setup-deps.sh

build: deps
	@cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	@cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) --timeout 600

# The demo builds just the two binaries it runs (cacheon, cacheon-engine) in BUILD_DIR: a full
# build would take most of the ten minutes a fresh two-core machine has for the whole demo.
demo: deps
	@scripts/demo.sh $(BUILD_DIR)

clean:
	rm -rf $(BUILD_DIR)
