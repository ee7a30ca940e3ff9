# The clang build of the harnesses (top-level role of CMakeLists.txt).
get_filename_component(root ${CMAKE_CURRENT_SOURCE_DIR}/../.. ABSOLUTE)
set(CMAKE_C_STANDARD 11)

include(CheckCSourceCompiles)
set(CMAKE_REQUIRED_FLAGS -fsanitize=fuzzer)
check_c_source_compiles("
#include <stddef.h>
#include <stdint.h>
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }"
  FLIGRU_HAVE_LIBFUZZER)
unset(CMAKE_REQUIRED_FLAGS)
if(NOT FLIGRU_HAVE_LIBFUZZER)
  message(WARNING "fligru fuzz: ${CMAKE_C_COMPILER} cannot link -fsanitize=fuzzer "
                  "(Debian: libclang-rt-14-dev); no harnesses built, fuzz tests skip")
  return()
endif()

find_package(PkgConfig REQUIRED)
pkg_check_modules(OPENBLAS REQUIRED IMPORTED_TARGET openblas)
pkg_check_modules(YAML     REQUIRED IMPORTED_TARGET yaml-0.1)
pkg_check_modules(CJSON    REQUIRED IMPORTED_TARGET libcjson)
pkg_check_modules(GSL      REQUIRED IMPORTED_TARGET gsl)
find_package(OpenMP REQUIRED COMPONENTS C)
find_package(Threads REQUIRED)

# The same -ffp-contract=off as the main build, so the code fuzzed is the code shipped.
add_compile_options(-g -O1 -ffp-contract=off -fno-omit-frame-pointer -Wno-pass-failed
                    -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined)
add_link_options(-fsanitize=address,undefined)

file(GLOB lib_src CONFIGURE_DEPENDS ${root}/models/src/*.c)
add_library(fuzz_fligru STATIC ${lib_src})
target_include_directories(fuzz_fligru PUBLIC ${root}/models/include)
target_compile_definitions(fuzz_fligru PRIVATE _POSIX_C_SOURCE=200809L PUBLIC FLIGRU_VERSION="fuzz")
target_link_libraries(fuzz_fligru PUBLIC OpenMP::OpenMP_C m
  PkgConfig::OPENBLAS PkgConfig::YAML PkgConfig::CJSON PkgConfig::GSL)

# fligru_hw embeds configs/hw-model.yaml, as bench/CMakeLists.txt does.
file(READ ${root}/configs/hw-model.yaml hw_hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," hw_hex "${hw_hex}")
file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/hw/hw_model_yaml.h
  "static const unsigned char fl_hw_model_yaml[] = {${hw_hex}};\n")
add_library(fuzz_hw STATIC ${root}/bench/hw/hwmodel.c)
target_include_directories(fuzz_hw PUBLIC ${root}/bench/hw/include PRIVATE ${CMAKE_CURRENT_BINARY_DIR}/hw)
target_compile_definitions(fuzz_hw PRIVATE _POSIX_C_SOURCE=200809L)
target_link_libraries(fuzz_hw PUBLIC fuzz_fligru Threads::Threads)
include(${root}/rtl/gen_headers.cmake)   # fligru_sched.h, generated from the RTL
target_link_libraries(fuzz_hw PRIVATE fligru_rtl_gen)
# The sweep engine, with the definitions bench/CMakeLists.txt gives fligru_sweep.
file(GLOB sweep_src CONFIGURE_DEPENDS ${root}/bench/sweep/*.c)
add_library(fuzz_bench STATIC ${sweep_src})
target_include_directories(fuzz_bench PUBLIC ${root}/bench/sweep/include PRIVATE ${root}/bench/sweep)
target_compile_definitions(fuzz_bench PRIVATE _GNU_SOURCE FLIGRU_SCRIPTS_DIR="${root}/scripts")
target_link_libraries(fuzz_bench PUBLIC fuzz_hw PkgConfig::CJSON)

add_library(fuzz_util STATIC fuzz_util.c)
target_link_libraries(fuzz_util PUBLIC fuzz_fligru)

function(fligru_fuzz name dict)
  add_executable(fuzz_${name} fuzz_${name}.c)
  target_link_libraries(fuzz_${name} PRIVATE fuzz_util fuzz_bench)
  target_link_options(fuzz_${name} PRIVATE -fsanitize=fuzzer)
endfunction()
include(harnesses.cmake)
