# Thin wrapper around CMake: the two commands of the README, plus a few helpers.
#   make demo       install what is missing, build (Release), run the default job
#   make test       same set-up, then every test (ctest)
#   make test-asan  the tests again under AddressSanitizer + UBSan
#   make bench      build and run the benchmarks in bench/
#   make fuzz       the libFuzzer harnesses (clang), FUZZ_TIME seconds each
BUILD     ?= build
JOBS      ?= $(shell nproc)
# CI (CI=true in the environment) builds with -Werror.
WERROR    ?= $(if $(CI),ON,OFF)
CMAKE_ARGS ?=

FUZZ_TIME ?= 120

.PHONY: all deps configure build demo test test-asan bench fuzz clean

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

# tests/fuzz: its own clang project (libFuzzer + ASan + UBSan); a finding stops
# the run and leaves the input in build-fuzz/artifacts/.
fuzz: deps
	@cmake -S tests/fuzz -B build-fuzz -G Ninja -DCMAKE_C_COMPILER=clang \
	    -DCMAKE_BUILD_TYPE=RelWithDebInfo >build-fuzz.configure.log 2>&1 \
	  || { cat build-fuzz.configure.log; exit 1; }
	@cmake --build build-fuzz -j $(JOBS)
	@sh tests/fuzz/run.sh build-fuzz $(FUZZ_TIME)

bench: build
	@bash scripts/bench.sh $(BUILD)

clean:
	rm -rf $(BUILD) build-asan build-fuzz $(BUILD).configure.log build-asan.configure.log build-fuzz.configure.log
