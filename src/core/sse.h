// Incremental Server-Sent Events reader (WHATWG HTML "event stream interpretation").
// Bytes are fed as they arrive from the socket, stamped with their arrival time; complete events
// come out in order. Memory stays within SseOptions whatever the peer sends.
//
// Timing: `first_byte_ns` is the arrival time of the read that carried the first byte of the
// event's first field line (comments and blank lines before it do not count: a ping sent long
// before the data must not shift the event's start). `arrival_ns` is the arrival time of the read
// that carried the terminator of the blank line that dispatched it.
//
// Error codes: "sse_line_too_long", "sse_event_too_large" (feed; sticky: once returned, every
// later call returns it again and no further input is looked at), "sse_truncated" (finish: a
// partial line or a partial event was pending), "sse_finished" (feed after finish).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace cacheon {

struct SseEvent {
  std::string event;  // "" means the default "message"
  std::string data;   // data lines joined by '\n'
  std::string id;     // the last event ID (persists across events, per the spec)
  int64_t first_byte_ns = -1;
  int64_t arrival_ns = -1;
};

struct SseOptions {
  size_t max_line_bytes = 1 << 20;   // one line, terminator excluded
  size_t max_event_bytes = 4 << 20;  // event type + data (with '\n' joins) + id of one event
};

class SseReader {
 public:
  explicit SseReader(SseOptions options = {});

  // Parses `bytes`, calling on_event for each complete event in order. The callback may move from
  // the event. Returns an error (and stops accepting input) once a bound is exceeded.
  Status feed(std::string_view bytes, int64_t arrival_ns,
              const std::function<void(SseEvent&&)>& on_event);

  // End of stream. A partially received event is not dispatched (per the spec); returns
  // "sse_truncated" when a non-empty partial line or partial event was pending.
  Status finish();

  int64_t comments() const { return comments_; }      // comment lines (":" pings)
  int64_t bytes_seen() const { return bytes_seen_; }  // bytes accepted by feed, BOM included
  int64_t events() const { return events_; }          // events dispatched
  // Bytes the reader holds (capacity of its line and event buffers), for bound checks in tests.
  size_t buffered_bytes() const {
    return line_.capacity() + data_.capacity() + event_.capacity() + id_.capacity();
  }

 private:
  Status process(std::string_view bytes, int64_t arrival_ns,
                 const std::function<void(SseEvent&&)>& on_event);
  Status line(std::string_view line, int64_t line_ns,
              const std::function<void(SseEvent&&)>& on_event, int64_t arrival_ns);
  Status fail(const char* code, std::string message);

  SseOptions opt_;
  std::string line_;         // partial line carried across feeds (<= max_line_bytes)
  int64_t line_ns_ = -1;     // arrival of the carried line's first byte
  bool pending_cr_ = false;  // previous feed ended with CR: a leading LF belongs to it
  int bom_matched_ = 0;      // bytes of a leading UTF-8 BOM seen so far (0..2)
  int64_t bom_ns_ = -1;
  bool started_ = false;     // past the BOM check
  bool finished_ = false;

  // The event being assembled.
  std::string event_;
  std::string data_;
  std::string id_;
  bool has_data_ = false;     // a data field was seen (an empty one still dispatches)
  bool event_open_ = false;   // a field line was seen since the last blank line
  int64_t event_ns_ = -1;

  int64_t comments_ = 0;
  int64_t bytes_seen_ = 0;
  int64_t events_ = 0;
  Status error_;
};

}  // namespace cacheon
