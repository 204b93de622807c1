#include "core/sse.h"

#include <algorithm>
#include <cstring>
#include <utility>

namespace cacheon {

namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

// Finds the next CR or LF at or after `from`. `next_cr` / `next_lf` cache the last memchr results
// so that each byte is scanned at most once per character: a LF-only stream costs one memchr per
// line plus a single failed memchr for CR over the whole feed.
inline size_t next_eol(const char* p, size_t n, size_t from, size_t& next_cr, size_t& next_lf) {
  if (next_cr < from) {
    const void* c = std::memchr(p + from, '\r', n - from);
    next_cr = c ? size_t(static_cast<const char*>(c) - p) : n;
  }
  if (next_lf < from) {
    const void* c = std::memchr(p + from, '\n', n - from);
    next_lf = c ? size_t(static_cast<const char*>(c) - p) : n;
  }
  return next_cr < next_lf ? next_cr : next_lf;
}

// Appends while keeping capacity within `cap`. std::string grows by doubling (libstdc++ also
// rounds a reserve() up to twice the old capacity), so the last growth step builds a fresh string
// of exactly the bound instead.
inline void bounded_append(std::string& s, std::string_view v, size_t cap) {
  const size_t need = s.size() + v.size();
  if (need > s.capacity()) {
    const size_t grown = std::max(need, s.capacity() * 2);
    if (grown > cap) {
      std::string t;
      t.reserve(std::max(cap, need));
      t.append(s);
      t.append(v);
      s.swap(t);
      return;
    }
    s.reserve(grown);
  }
  s.append(v);
}

}  // namespace

SseReader::SseReader(SseOptions options) : opt_(options) {}

Status SseReader::fail(const char* code, std::string message) {
  error_ = Status(Error{code, std::move(message)});
  // Release what the peer made us hold; the reader accepts nothing more.
  std::string().swap(line_);
  std::string().swap(data_);
  std::string().swap(event_);
  std::string().swap(id_);
  return error_;
}

Status SseReader::feed(std::string_view bytes, int64_t arrival_ns,
                       const std::function<void(SseEvent&&)>& on_event) {
  if (!error_.ok()) return error_;
  if (finished_) return Status(Error{"sse_finished", "feed() after finish()"});
  bytes_seen_ += int64_t(bytes.size());
  if (!started_) {
    // A UTF-8 BOM at stream start is dropped; it may arrive split over several feeds.
    while (!bytes.empty() && bom_matched_ < 3 && bytes[0] == kBom[size_t(bom_matched_)]) {
      if (bom_matched_ == 0) bom_ns_ = arrival_ns;
      ++bom_matched_;
      bytes.remove_prefix(1);
    }
    if (bom_matched_ == 3) {
      started_ = true;
    } else if (!bytes.empty()) {
      started_ = true;
      if (bom_matched_ > 0) {  // a BOM prefix that was not a BOM: those bytes are content
        Status s = process(kBom.substr(0, size_t(bom_matched_)), bom_ns_, on_event);
        if (!s.ok()) return s;
      }
    }
  }
  if (bytes.empty()) return Status::Ok();
  return process(bytes, arrival_ns, on_event);
}

Status SseReader::process(std::string_view bytes, int64_t arrival_ns,
                          const std::function<void(SseEvent&&)>& on_event) {
  const char* p = bytes.data();
  const size_t n = bytes.size();
  size_t pos = 0;
  if (pending_cr_) {
    pending_cr_ = false;
    if (n > 0 && p[0] == '\n') pos = 1;  // second half of a CRLF split across reads
  }
  size_t next_cr = 0, next_lf = 0;
  if (pos < n) {
    next_cr = n;  // first scans; next_eol rescans each only once pos has passed it
    const void* c = std::memchr(p + pos, '\r', n - pos);
    if (c) next_cr = size_t(static_cast<const char*>(c) - p);
    next_lf = n;
    c = std::memchr(p + pos, '\n', n - pos);
    if (c) next_lf = size_t(static_cast<const char*>(c) - p);
  }
  while (pos < n) {
    const size_t eol = next_eol(p, n, pos, next_cr, next_lf);
    const size_t len = eol - pos;
    if (line_.size() + len > opt_.max_line_bytes) {
      return fail("sse_line_too_long",
                  "SSE line longer than " + std::to_string(opt_.max_line_bytes) + " bytes");
    }
    if (eol == n) {  // no terminator in this read: carry the partial line
      if (line_.empty()) line_ns_ = arrival_ns;
      bounded_append(line_, std::string_view(p + pos, len), opt_.max_line_bytes);
      break;
    }
    Status s;
    if (line_.empty()) {
      s = line(std::string_view(p + pos, len), arrival_ns, on_event, arrival_ns);
    } else {
      bounded_append(line_, std::string_view(p + pos, len), opt_.max_line_bytes);
      s = line(line_, line_ns_, on_event, arrival_ns);
      line_.clear();
    }
    if (!s.ok()) return s;
    pos = eol + 1;
    if (p[eol] == '\r') {
      if (pos == n) {
        pending_cr_ = true;
      } else if (p[pos] == '\n') {
        ++pos;
      }
    }
  }
  return Status::Ok();
}

Status SseReader::line(std::string_view ln, int64_t line_ns,
                       const std::function<void(SseEvent&&)>& on_event, int64_t arrival_ns) {
  if (ln.empty()) {  // blank line: dispatch
    const bool dispatch = has_data_;
    event_open_ = false;
    has_data_ = false;
    if (!dispatch) {  // no data field: the spec resets the buffers and dispatches nothing
      event_.clear();
      data_.clear();
      event_ns_ = -1;
      return Status::Ok();
    }
    SseEvent ev;
    ev.event = std::move(event_);
    ev.data = std::move(data_);
    ev.id = id_;
    ev.first_byte_ns = event_ns_;
    ev.arrival_ns = arrival_ns;
    event_ns_ = -1;
    ++events_;
    on_event(std::move(ev));
    // Take the buffers back when the callback did not steal them: no allocation per event.
    data_ = std::move(ev.data);
    data_.clear();
    event_ = std::move(ev.event);
    event_.clear();
    return Status::Ok();
  }
  if (ln[0] == ':') {
    ++comments_;
    return Status::Ok();
  }
  std::string_view field = ln, value;
  if (const void* c = std::memchr(ln.data(), ':', ln.size())) {
    const size_t i = size_t(static_cast<const char*>(c) - ln.data());
    field = ln.substr(0, i);
    value = ln.substr(i + 1);
    if (!value.empty() && value[0] == ' ') value.remove_prefix(1);
  }
  if (!event_open_) {
    event_open_ = true;
    event_ns_ = line_ns;
  }
  if (field == "data") {
    const size_t add = value.size() + (has_data_ ? 1 : 0);
    if (data_.size() + event_.size() + id_.size() + add > opt_.max_event_bytes) {
      return fail("sse_event_too_large",
                  "SSE event larger than " + std::to_string(opt_.max_event_bytes) + " bytes");
    }
    if (has_data_) bounded_append(data_, "\n", opt_.max_event_bytes);
    bounded_append(data_, value, opt_.max_event_bytes);
    has_data_ = true;
  } else if (field == "event") {
    if (data_.size() + id_.size() + value.size() > opt_.max_event_bytes) {
      return fail("sse_event_too_large",
                  "SSE event larger than " + std::to_string(opt_.max_event_bytes) + " bytes");
    }
    event_.assign(value);
  } else if (field == "id") {
    // Per the spec an id containing NUL is ignored. The id is copied into every event, so it
    // counts against the event bound.
    if (value.find('\0') == std::string_view::npos) {
      if (data_.size() + event_.size() + value.size() > opt_.max_event_bytes) {
        return fail("sse_event_too_large",
                    "SSE event larger than " + std::to_string(opt_.max_event_bytes) + " bytes");
      }
      id_.assign(value);
    }
  }
  // "retry" and unknown fields are ignored.
  return Status::Ok();
}

Status SseReader::finish() {
  if (!error_.ok()) return error_;
  finished_ = true;
  const bool partial_line = !line_.empty() || (!started_ && bom_matched_ > 0);
  if (partial_line || event_open_) {
    line_.clear();
    data_.clear();
    event_.clear();
    return Status(Error{"sse_truncated",
                        partial_line ? "stream ended inside an SSE line"
                                     : "stream ended before the blank line ending an SSE event"});
  }
  return Status::Ok();
}

}  // namespace cacheon
