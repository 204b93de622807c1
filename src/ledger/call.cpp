#include "ledger/call.h"

#include <fmt/format.h>

#include "core/sha256.h"

namespace cacheon::ledger {
namespace {

constexpr std::string_view kMagic = "cacheon-call/1";

Error bad_call(std::string_view why) { return Error{"bad_call", std::string(why)}; }

void put_u(std::string& out, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// Appends the 32 raw bytes of an address.
bool put_address(std::string& out, std::string_view address) {
  auto pk = parse_address(address);
  if (!pk.ok()) return false;
  out.append(reinterpret_cast<const char*>(pk->data()), pk->size());
  return true;
}

bool put_netuid(std::string& out, int netuid) {
  if (netuid < 0 || netuid > 0xffff) return false;
  put_u(out, static_cast<uint64_t>(netuid), 2);
  return true;
}

bool put_bytes(std::string& out, std::string_view bytes) {
  if (bytes.size() > 0xffffffffu) return false;
  put_u(out, bytes.size(), 4);
  out.append(bytes);
  return true;
}

// Reads fixed-size fields off the front of the input; any overrun makes ok() false for good.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool ok() const { return ok_; }
  bool done() const { return ok_ && in_.empty(); }
  std::string_view take(size_t n) {
    if (!ok_ || in_.size() < n) {
      ok_ = false;
      return {};
    }
    std::string_view v = in_.substr(0, n);
    in_.remove_prefix(n);
    return v;
  }
  uint64_t u(int bytes) {
    std::string_view v = take(static_cast<size_t>(bytes));
    uint64_t x = 0;
    for (char c : v) x = (x << 8) | static_cast<uint8_t>(c);
    return x;
  }
  std::string address() { return "0x" + hex_encode(take(32)); }
  std::string bytes() {
    uint64_t n = u(4);
    if (n > in_.size()) ok_ = false;
    return std::string(take(static_cast<size_t>(n)));
  }

 private:
  std::string_view in_;
  bool ok_ = true;
};

}  // namespace

const char* call_kind_name(CallKind kind) {
  switch (kind) {
    case CallKind::kTransfer:
      return "transfer";
    case CallKind::kRegister:
      return "register";
    case CallKind::kCommit:
      return "commit";
    case CallKind::kSetWeights:
      return "set_weights";
  }
  return "unknown";
}

Result<std::string> encode_call(const Call& c) {
  std::string out(kMagic);
  if (!put_address(out, c.genesis_hash)) return bad_call("bad genesis hash");
  out.push_back(static_cast<char>(c.kind));
  if (!put_address(out, c.signer)) return bad_call("bad signer address");
  put_u(out, c.nonce, 8);
  switch (c.kind) {
    case CallKind::kTransfer:
      if (!put_address(out, c.to)) return bad_call("bad recipient address");
      if (c.amount_rao < 0) return bad_call("negative amount");
      put_u(out, static_cast<uint64_t>(c.amount_rao), 8);
      if (!put_bytes(out, c.remark)) return bad_call("remark too long");
      break;
    case CallKind::kRegister:
      if (!put_netuid(out, c.netuid)) return bad_call("netuid out of range");
      if (!put_address(out, c.hotkey)) return bad_call("bad hotkey address");
      break;
    case CallKind::kCommit:
      if (!put_netuid(out, c.netuid)) return bad_call("netuid out of range");
      if (!put_bytes(out, c.data)) return bad_call("data too long");
      break;
    case CallKind::kSetWeights:
      if (!put_netuid(out, c.netuid)) return bad_call("netuid out of range");
      if (c.weights.size() > kMaxWeights) return bad_call("too many weights");
      put_u(out, c.weights.size(), 4);
      for (const UidWeight& w : c.weights) {
        if (w.uid < 0 || w.uid > 0xffff) return bad_call("uid out of range");
        put_u(out, static_cast<uint64_t>(w.uid), 2);
        put_u(out, w.weight, 2);
      }
      break;
    default:
      return bad_call("unknown call kind");
  }
  return out;
}

Result<Call> decode_call(std::string_view bytes) {
  Reader r(bytes);
  if (r.take(kMagic.size()) != kMagic) return bad_call("not a cacheon call (bad magic)");
  Call c;
  c.genesis_hash = r.address();
  uint64_t kind = r.u(1);
  c.signer = r.address();
  c.nonce = r.u(8);
  switch (kind) {
    case 1: {
      c.kind = CallKind::kTransfer;
      c.to = r.address();
      uint64_t amount = r.u(8);
      if (amount > static_cast<uint64_t>(INT64_MAX)) return bad_call("amount out of range");
      c.amount_rao = static_cast<int64_t>(amount);
      c.remark = r.bytes();
      break;
    }
    case 2:
      c.kind = CallKind::kRegister;
      c.netuid = static_cast<int>(r.u(2));
      c.hotkey = r.address();
      break;
    case 3:
      c.kind = CallKind::kCommit;
      c.netuid = static_cast<int>(r.u(2));
      c.data = r.bytes();
      break;
    case 4: {
      c.kind = CallKind::kSetWeights;
      c.netuid = static_cast<int>(r.u(2));
      uint64_t n = r.u(4);
      if (n > kMaxWeights || n * 4 > bytes.size()) return bad_call("weight count out of range");
      for (uint64_t i = 0; i < n && r.ok(); ++i) {
        UidWeight w;
        w.uid = static_cast<int>(r.u(2));
        w.weight = static_cast<uint16_t>(r.u(2));
        c.weights.push_back(w);
      }
      break;
    }
    default:
      return bad_call(fmt::format("unknown call kind {}", kind));
  }
  if (!r.done()) return bad_call("truncated call or trailing bytes");
  return c;
}

Result<SignedCall> sign_call(const Call& call, const Keypair& signer, const Keypair* cosigner) {
  auto encoded = encode_call(call);
  if (!encoded.ok()) return encoded.error();
  SignedCall s;
  s.encoded = std::move(*encoded);
  s.signature = sign(signer, s.encoded);
  if (cosigner != nullptr) s.cosignature = sign(*cosigner, s.encoded);
  return s;
}

Result<Call> verify_signed_call(const SignedCall& s) {
  auto call = decode_call(s.encoded);
  if (!call.ok()) return call.error();
  if (!verify(call->signer, s.encoded, s.signature))
    return Error{"bad_signature", fmt::format("the {} call is not signed by {}",
                                              call_kind_name(call->kind), call->signer)};
  if (call->kind == CallKind::kRegister) {
    if (!verify(call->hotkey, s.encoded, s.cosignature))
      return Error{"bad_signature", fmt::format("the registration is not co-signed by hotkey {} "
                                                "(proof of owning the hotkey)",
                                                call->hotkey)};
  } else if (!s.cosignature.empty()) {
    return bad_call("unexpected co-signature");
  }
  return call;
}

std::string call_id(std::string_view encoded) { return "0x" + sha256_hex(encoded); }

}  // namespace cacheon::ledger
