// Fuzz target bodies, one per parser of untrusted bytes (STYLE.md item 7). Each takes arbitrary
// bytes, drives its parser the way production code does, and checks invariants with
// CACHEON_ASSERT: an abort (or a sanitizer report) is a finding; any other input must return.
//
// Two callers: the libFuzzer entry points fuzz/fuzz_<name>.cpp (clang, sanitizers, see
// fuzz/README.md) and tests/unit/test_fuzz_replay.cpp, which replays every seed and regression
// input under fuzz/corpus/ with the ordinary (g++) build, so a fixed finding stays fixed in CI.
#pragma once
#include <cstddef>
#include <cstdint>

namespace cacheon::fuzz {

// core/sse.h SseReader. Byte 0 picks SseOptions and how the rest is cut into reads; the same
// stream fed whole and fed in pieces must give the same events and codes.
void fuzz_sse(const uint8_t* data, size_t size);

// openai/chat_chunk.h ChunkParser::parse and parse_completion (one reused parser), and
// openai/error.h parse_error_body, on the raw bytes.
void fuzz_chunk(const uint8_t* data, size_t size);

// openai/chat_request.h parse_chat_request on the raw bytes; an accepted request must survive
// to_json -> parse_chat_request unchanged.
void fuzz_chat_request(const uint8_t* data, size_t size);

// harness/stream_recorder.h StreamRecorder (SSE + chunk parsing + record building). Bytes 0-1
// pick the HTTP status, options, the transport outcome and the read cuts; the rest is the body.
void fuzz_stream_recorder(const uint8_t* data, size_t size);

// harness/corpus.h valid_utf8 (against simdjson's validator) and Corpus::from_documents (the
// input split into documents at 0xFF bytes).
void fuzz_corpus(const uint8_t* data, size_t size);

// harness/corpus.h Corpus::from_jsonl, the input written to a per-process temporary file.
void fuzz_jsonl(const uint8_t* data, size_t size);

// core/http_client.h response parsing: a loopback TCP peer answers one http_fetch with the raw
// bytes, then closes.
void fuzz_http_response(const uint8_t* data, size_t size);

// Operator input: Url::parse (core/http_client.h) and Workload::parse (harness/runner.h), each
// accepted value round-tripping through str().
void fuzz_config(const uint8_t* data, size_t size);

}  // namespace cacheon::fuzz
