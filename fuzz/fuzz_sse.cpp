// libFuzzer entry point for fuzz_sse (body and invariants in fuzz_targets.cpp).
#include <cstddef>
#include <cstdint>

#include "fuzz_targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  cacheon::fuzz::fuzz_sse(data, size);
  return 0;
}
