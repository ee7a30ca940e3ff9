# Model converters (scripts/convert-torch.py, scripts/convert-keras.py), each checked
# by running both sides: PyTorch (or a numpy re-implementation of Keras' GRU) against
# `fligru predict`. Debian's interpreter: python3-torch / python3-h5py install for it.
# A test whose framework is missing exits 77 and ctest reports it SKIPPED.
set(FLIGRU_CONVERT_WORK ${CMAKE_CURRENT_BINARY_DIR}/convert)

add_test(NAME convert.torch
  COMMAND /usr/bin/python3 ${PROJECT_SOURCE_DIR}/tests/convert/test_torch.py
          $<TARGET_FILE:fligru-cli> ${PROJECT_SOURCE_DIR} ${FLIGRU_CONVERT_WORK}/torch)
add_test(NAME convert.keras
  COMMAND /usr/bin/python3 ${PROJECT_SOURCE_DIR}/tests/convert/test_keras.py
          $<TARGET_FILE:fligru-cli> ${PROJECT_SOURCE_DIR} ${FLIGRU_CONVERT_WORK}/keras)
set_tests_properties(convert.torch convert.keras PROPERTIES
  SKIP_RETURN_CODE 77 TIMEOUT 300 LABELS convert)
