// Replays every seed and regression input under fuzz/corpus/<target>/ through the fuzz target
// bodies (fuzz/fuzz_targets.h) in the ordinary build, so that a fixed fuzz finding stays fixed in
// CI without clang or libFuzzer. A target's invariant failure aborts (CACHEON_ASSERT); the trace
// names the file being replayed.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "../../fuzz/fuzz_targets.h"

namespace cacheon::fuzz {
namespace {

namespace fs = std::filesystem;

using Target = void (*)(const uint8_t*, size_t);

void replay(const std::string& name, Target target) {
  const fs::path dir = fs::path(CACHEON_FUZZ_CORPUS) / name;
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.is_regular_file()) files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  ASSERT_FALSE(files.empty()) << "no seed files under " << dir;
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::fprintf(stderr, "replaying %s (%zu bytes)\n", f.string().c_str(), bytes.size());
    target(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  }
}

TEST(FuzzReplay, Sse) { replay("sse", fuzz_sse); }
TEST(FuzzReplay, Chunk) { replay("chunk", fuzz_chunk); }
TEST(FuzzReplay, ChatRequest) { replay("chat_request", fuzz_chat_request); }
TEST(FuzzReplay, StreamRecorder) { replay("stream_recorder", fuzz_stream_recorder); }
TEST(FuzzReplay, Corpus) { replay("corpus", fuzz_corpus); }
TEST(FuzzReplay, Jsonl) { replay("jsonl", fuzz_jsonl); }
TEST(FuzzReplay, HttpResponse) { replay("http_response", fuzz_http_response); }
TEST(FuzzReplay, Config) { replay("config", fuzz_config); }

TEST(FuzzReplay, EmptyAndOneByteInputs) {
  // The smallest inputs take the early-return paths of the targets that read control bytes.
  const uint8_t one = 0xFF;
  for (Target t : {fuzz_sse, fuzz_chunk, fuzz_chat_request, fuzz_stream_recorder, fuzz_corpus,
                   fuzz_jsonl, fuzz_http_response, fuzz_config}) {
    t(nullptr, 0);
    t(&one, 1);
  }
}

}  // namespace
}  // namespace cacheon::fuzz
