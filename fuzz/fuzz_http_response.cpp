// libFuzzer entry point for fuzz_http_response (body and invariants in fuzz_targets.cpp).
#include <cstddef>
#include <cstdint>

#include "fuzz_targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  cacheon::fuzz::fuzz_http_response(data, size);
  return 0;
}
