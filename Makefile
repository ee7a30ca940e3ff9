# Thin wrapper around CMake: the two commands of the README, plus a few helpers.
#   make demo       install what is missing, build (Release), run the default job
#   make test       same set-up, then every test (ctest)
#   make test-asan  the tests again under AddressSanitizer + UBSan
#   make bench      build and run the benchmarks in bench/
BUILD     ?= build
JOBS      ?= $(shell nproc)
# CI (CI=true in the environment) builds with -Werror.
WERROR    ?= $(if $(CI),ON,OFF)
CMAKE_ARGS ?=

.PHONY: all deps configure build demo test test-asan bench clean

all: build

deps:
	@bash scripts/install-deps.sh

configure: deps
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release \
	    -DFLIGRU_WERROR=$(WERROR) $(CMAKE_ARGS) >$(BUILD).configure.log 2>&1 \
	  || { cat $(BUILD).configure.log; exit 1; }

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

demo: build
	@bash scripts/demo.sh $(BUILD)

test: build
	@bash scripts/run-tests.sh $(BUILD) -j $(JOBS)

test-asan: deps
	@cmake --preset asan -DFLIGRU_WERROR=$(WERROR) >build-asan.configure.log 2>&1 \
	  || { cat build-asan.configure.log; exit 1; }
	@cmake --build --preset asan -j $(JOBS)
	@ctest --preset asan -j $(JOBS)

bench: build
	@bash scripts/bench.sh $(BUILD)

clean:
	rm -rf $(BUILD) build-asan $(BUILD).configure.log build-asan.configure.log
