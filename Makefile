# Thin wrapper over the CMake build. `make` builds, `make check` builds and runs every test,
# `make demo` runs the main job, `make cluster-demo` PostgreSQL, three fotad and nginx with a
# fleet through them (scripts/cluster-demo, docs/SCALING.md), `make fuzz` every fuzz target for
# FUZZ_SECONDS each (fuzz/run.sh, docs/FUZZING.md), `make bench` every benchmark in bench/ in
# full mode, writing their tables into docs/BENCHMARKS.md, `make arduino-lib` the Arduino library
# as users install it (its folder and its .zip in $(BUILD)/arduino, scripts/arduino-lib).
# Dependencies are installed by scripts/install-deps.
BUILD ?= build
SAN_BUILD ?= build-san
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
FUZZ_SECONDS ?= 60

# ctest in the build directory $(1), then why each skipped test skipped (its "SKIPPED: ..." line,
# which ctest keeps in its log but does not print), then ctest's verdict.
define run_ctest
cd $(1) && { ctest --output-on-failure -j $(JOBS); rc=$$?; \
	grep -h '^SKIPPED: ' Testing/Temporary/LastTest.log | sort -u; exit $$rc; }
endef

.PHONY: all deps configure check check-san demo cluster-demo fuzz bench arduino-lib clean

all: configure
	cmake --build $(BUILD) -j $(JOBS)

deps:
	@scripts/install-deps

configure: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null

check: all
	@$(call run_ctest,$(BUILD))

check-san: deps
	@cmake -S . -B $(SAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DFOTA_SANITIZE=ON >/dev/null
	cmake --build $(SAN_BUILD) -j $(JOBS)
	@$(call run_ctest,$(SAN_BUILD))

demo: all
	scripts/demo

cluster-demo: all
	scripts/cluster-demo $(BUILD)

fuzz: all
	FUZZ_TOOLS=$(abspath $(BUILD)) fuzz/run.sh $(FUZZ_SECONDS)

bench: all
	@scripts/install-deps
	bench/all.sh $(BUILD)

arduino-lib:
	scripts/arduino-lib $(BUILD)/arduino

clean:
	rm -rf $(BUILD) $(SAN_BUILD) build-fuzz
