// Byte-pair encoding of one pre-split piece: merges applied lowest rank first, ties to the
// leftmost pair, exactly as HF tokenizers' BPE model does; results cached per piece.
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace cacheon::engine {

// Hash for heterogeneous lookup: find(std::string_view) without building a std::string.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
};
using BytesToId = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

class Bpe {
 public:
  // byte_ids: the id of each single-byte token. vocab: raw bytes -> id (used when
  // ignore_merges is set: a piece that is itself a token is emitted whole).
  Bpe(const std::array<int32_t, 256>& byte_ids, const BytesToId* vocab, bool ignore_merges);

  // Registers merge `rank`: (left, right) -> merged. The first registration of a pair wins.
  void add_merge(int32_t left, int32_t right, int32_t merged, int32_t rank);

  // Appends the ids of `piece` (raw bytes, non-empty) to out. Thread-safe.
  void encode(std::string_view piece, std::vector<int32_t>& out) const;

  // Pieces longer than this are not cached (they are rare and would crowd the cache out).
  static constexpr size_t kMaxCachedPieceBytes = 256;
  // The cache is cleared shard by shard when a shard reaches this many entries.
  static constexpr size_t kCacheShards = 16;
  static constexpr size_t kMaxEntriesPerShard = 8192;

 private:
  struct Merge {
    int32_t rank;
    int32_t merged;
  };
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, std::vector<int32_t>, StringHash, std::equal_to<>> map;
  };
  static uint64_t key(int32_t left, int32_t right) {
    return uint64_t(uint32_t(left)) << 32 | uint32_t(right);
  }
  void merge_word(std::string_view piece, std::vector<int32_t>& out) const;

  std::array<int32_t, 256> byte_ids_;
  const BytesToId* vocab_;
  bool ignore_merges_;
  std::unordered_map<uint64_t, Merge> merges_;
  mutable std::array<Shard, kCacheShards> cache_;
};

}  // namespace cacheon::engine
