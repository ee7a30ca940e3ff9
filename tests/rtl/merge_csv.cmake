# merge_csv.cmake - ctest rtl.cycles_csv: the per-configuration rows written by
# the RTL benches (DIR/<name>.csv) into one CSV (OUT), in configuration order.
#   cmake -DDIR=... -DOUT=... -DNAMES=a,b,c -P merge_csv.cmake
string(REPLACE "," ";" names "${NAMES}")
set(header "")
set(body "")
foreach(n ${names})
  if(NOT EXISTS ${DIR}/${n}.csv)
    message(FATAL_ERROR "merge_csv: no ${DIR}/${n}.csv (did rtl.${n} pass?)")
  endif()
  file(STRINGS ${DIR}/${n}.csv lines)
  list(GET lines 0 header)
  list(GET lines 1 row)
  string(APPEND body "${row}\n")
endforeach()
file(WRITE ${OUT} "${header}\n${body}")
message(STATUS "merge_csv: ${OUT}")
