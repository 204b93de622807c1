// libFuzzer entry point for fuzz_chat_request (body and invariants in fuzz_targets.cpp).
#include <cstddef>
#include <cstdint>

#include "fuzz_targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  cacheon::fuzz::fuzz_chat_request(data, size);
  return 0;
}
