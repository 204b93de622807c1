#include "engine/tokenizer/bpe.h"

#include <algorithm>
#include <functional>

namespace cacheon::engine {
namespace {

struct Symbol {
  int32_t id;
  int32_t prev;  // index of the previous live symbol, -1 at the start
  int32_t next;  // index of the next live symbol, -1 at the end
  bool live;
};

struct Candidate {
  int32_t rank;
  int32_t pos;  // index of the left symbol
  bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
};

}  // namespace

Bpe::Bpe(const std::array<int32_t, 256>& byte_ids, const BytesToId* vocab, bool ignore_merges)
    : byte_ids_(byte_ids), vocab_(vocab), ignore_merges_(ignore_merges) {}

void Bpe::add_merge(int32_t left, int32_t right, int32_t merged, int32_t rank) {
  merges_.try_emplace(key(left, right), Merge{rank, merged});
}

void Bpe::merge_word(std::string_view piece, std::vector<int32_t>& out) const {
  const int32_t n = int32_t(piece.size());
  std::vector<Symbol> sym(static_cast<size_t>(n));
  for (int32_t i = 0; i < n; ++i) {
    sym[size_t(i)] = {byte_ids_[static_cast<unsigned char>(piece[size_t(i)])], i - 1,
                      i + 1 < n ? i + 1 : -1, true};
  }
  // Min-heap on (rank, position): the lowest-ranked merge first, the leftmost on ties.
  std::vector<Candidate> heap;
  auto push = [&](int32_t pos) {
    const Symbol& s = sym[size_t(pos)];
    auto it = merges_.find(key(s.id, sym[size_t(s.next)].id));
    if (it == merges_.end()) return;
    heap.push_back({it->second.rank, pos});
    std::push_heap(heap.begin(), heap.end(), std::greater<>());
  };
  for (int32_t i = 0; i + 1 < n; ++i) push(i);
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), std::greater<>());
    const Candidate c = heap.back();
    heap.pop_back();
    Symbol& s = sym[size_t(c.pos)];
    if (!s.live || s.next < 0) continue;
    Symbol& r = sym[size_t(s.next)];
    auto it = merges_.find(key(s.id, r.id));
    // Stale: one side has merged since this candidate was queued.
    if (it == merges_.end() || it->second.rank != c.rank) continue;
    s.id = it->second.merged;
    r.live = false;
    s.next = r.next;
    if (s.next >= 0) sym[size_t(s.next)].prev = c.pos;
    if (s.prev >= 0) push(s.prev);
    if (s.next >= 0) push(c.pos);
  }
  for (int32_t i = 0; i >= 0; i = sym[size_t(i)].next) out.push_back(sym[size_t(i)].id);
}

void Bpe::encode(std::string_view piece, std::vector<int32_t>& out) const {
  if (piece.size() == 1) {
    out.push_back(byte_ids_[static_cast<unsigned char>(piece[0])]);
    return;
  }
  if (ignore_merges_) {
    auto it = vocab_->find(piece);
    if (it != vocab_->end()) {
      out.push_back(it->second);
      return;
    }
  }
  if (piece.size() > kMaxCachedPieceBytes) {
    merge_word(piece, out);
    return;
  }
  Shard& shard = cache_[std::hash<std::string_view>()(piece) % kCacheShards];
  {
    std::lock_guard<std::mutex> lock(shard.mu);
    auto it = shard.map.find(piece);
    if (it != shard.map.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  const size_t start = out.size();
  merge_word(piece, out);
  std::lock_guard<std::mutex> lock(shard.mu);
  if (shard.map.size() >= kMaxEntriesPerShard) shard.map.clear();
  shard.map.emplace(std::string(piece), std::vector<int32_t>(out.begin() + long(start), out.end()));
}

}  // namespace cacheon::engine
