#include "ledger/wallet.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <sodium.h>
#include <nlohmann/json.hpp>

#include "core/sha256.h"

namespace fs = std::filesystem;

namespace cacheon::ledger {
namespace {

constexpr size_t kMaxKeyFileBytes = 4096;

Error io_error(const std::string& what, const std::string& path) {
  return Error{"io_error", fmt::format("{} {}: {}", what, path, std::strerror(errno))};
}

Status make_dir(const std::string& path, mode_t mode) {
  if (::mkdir(path.c_str(), mode) == 0 || errno == EEXIST) {
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return Status::Ok();
    return Error{"io_error", fmt::format("{} exists and is not a directory", path)};
  }
  return io_error("cannot create directory", path);
}

// Writes `text` to a fresh temporary file beside `path` (0600 or `mode`), fsyncs it, then puts
// it in place: link() when the target must not exist (atomic no-clobber), rename() otherwise.
Status write_atomically(const std::string& path, const std::string& text, mode_t mode,
                        bool overwrite) {
  std::string tmp = fmt::format("{}.tmp.{}", path, ::getpid());
  ::unlink(tmp.c_str());  // a leftover from a crashed run of this pid
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return io_error("cannot create", tmp);
  ::fchmod(fd, mode);  // umask must not widen nor narrow what we meant
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            ::fsync(fd) == 0;
  ok = (::close(fd) == 0) && ok;
  if (!ok) {
    Error e = io_error("cannot write", tmp);
    ::unlink(tmp.c_str());
    return e;
  }
  if (overwrite) {
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
      Error e = io_error("cannot rename into", path);
      ::unlink(tmp.c_str());
      return e;
    }
    return Status::Ok();
  }
  int rc = ::link(tmp.c_str(), path.c_str());
  int saved = errno;
  ::unlink(tmp.c_str());
  if (rc != 0) {
    errno = saved;
    if (saved == EEXIST)
      return Error{"key_exists", fmt::format("{} already exists (pass --overwrite to replace "
                                             "it; the old key is then lost)",
                                             path)};
    return io_error("cannot link into", path);
  }
  return Status::Ok();
}

std::string key_json(const Keypair& k, bool with_secret) {
  nlohmann::json j;
  j["accountId"] = k.address();
  j["publicKey"] = k.address();
  if (with_secret) j["secretSeed"] = "0x" + hex_encode(seed_of(k));
  return j.dump(2) + "\n";
}

Keypair fresh_key(const KeyFileOptions& o) {
  return o.seed ? keypair_from_seed(*o.seed) : generate_keypair();
}

Result<std::string> read_bounded(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return Error{"no_key", fmt::format("no key file at {}", path)};
  std::string text(kMaxKeyFileBytes + 1, '\0');
  f.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(f.gcount()));
  if (text.size() > kMaxKeyFileBytes)
    return Error{"bad_key_file", fmt::format("{} is larger than {} bytes", path, kMaxKeyFileBytes)};
  return text;
}

Result<Keypair> load_key_file(const std::string& path) {
  auto text = read_bounded(path);
  if (!text.ok()) return text.error();
  auto bad = [&](std::string_view why) {
    return Error{"bad_key_file", fmt::format("{}: {}", path, why)};
  };
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return bad("not a JSON object");
  auto seed_it = j.find("secretSeed");
  if (seed_it == j.end() || !seed_it->is_string()) return bad("no \"secretSeed\" string");
  auto seed_bytes = hex_decode(seed_it->get<std::string>());
  if (!seed_bytes.ok() || seed_bytes->size() != 32) return bad("secretSeed is not 32 hex bytes");
  std::array<uint8_t, 32> seed{};
  std::memcpy(seed.data(), seed_bytes->data(), 32);
  Keypair k = keypair_from_seed(seed);
  sodium_memzero(seed.data(), seed.size());
  sodium_memzero(seed_bytes->data(), seed_bytes->size());
  auto pub = j.find("publicKey");
  if (pub != j.end() && (!pub->is_string() || pub->get<std::string>() != k.address()))
    return bad("publicKey does not match secretSeed");
  return k;
}

std::string wallet_dir(const std::string& root, std::string_view wallet) {
  return (fs::path(root) / std::string(wallet)).string();
}

Status prepare_wallet_dir(const std::string& root, std::string_view wallet) {
  if (Status s = validate_key_name(wallet); !s) return s;
  std::error_code ec;
  fs::create_directories(root, ec);
  if (ec) return Error{"io_error", fmt::format("cannot create {}: {}", root, ec.message())};
  return make_dir(wallet_dir(root, wallet), 0700);
}

}  // namespace

std::string default_wallets_dir() {
  if (const char* home = std::getenv("CACHEON_HOME"); home != nullptr && *home != '\0')
    return (fs::path(home) / "wallets").string();
  const char* user_home = std::getenv("HOME");
  return (fs::path(user_home != nullptr ? user_home : ".") / ".cacheon" / "wallets").string();
}

Status validate_key_name(std::string_view name) {
  bool ok = !name.empty() && name.size() <= 64 && name.front() != '.' &&
            std::all_of(name.begin(), name.end(), [](char c) {
              return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                     c == '_' || c == '-' || c == '.';
            });
  if (ok) return Status::Ok();
  return Error{"bad_name", fmt::format("bad name \"{}\": use 1-64 of A-Z a-z 0-9 _ - . and do "
                                       "not start with '.'",
                                       std::string(name.substr(0, 80)))};
}

Result<Keypair> create_coldkey(const std::string& wallets_dir, std::string_view wallet,
                               const KeyFileOptions& options) {
  if (Status s = prepare_wallet_dir(wallets_dir, wallet); !s) return s.error();
  std::string dir = wallet_dir(wallets_dir, wallet);
  Keypair k = fresh_key(options);
  if (Status s = write_atomically(dir + "/coldkey", key_json(k, true), 0600, options.overwrite); !s)
    return s.error();
  // The public part is always rewritten to match the secret that is now in place.
  if (Status s = write_atomically(dir + "/coldkeypub.txt", key_json(k, false), 0644, true); !s)
    return s.error();
  return k;
}

Result<Keypair> create_hotkey(const std::string& wallets_dir, std::string_view wallet,
                              std::string_view hotkey, const KeyFileOptions& options) {
  if (Status s = validate_key_name(hotkey); !s) return s.error();
  if (Status s = prepare_wallet_dir(wallets_dir, wallet); !s) return s.error();
  std::string dir = wallet_dir(wallets_dir, wallet) + "/hotkeys";
  if (Status s = make_dir(dir, 0700); !s) return s.error();
  Keypair k = fresh_key(options);
  if (Status s = write_atomically(dir + "/" + std::string(hotkey), key_json(k, true), 0600,
                                  options.overwrite);
      !s)
    return s.error();
  return k;
}

Result<Keypair> load_coldkey(const std::string& wallets_dir, std::string_view wallet) {
  if (Status s = validate_key_name(wallet); !s) return s.error();
  return load_key_file(wallet_dir(wallets_dir, wallet) + "/coldkey");
}

Result<Keypair> load_hotkey(const std::string& wallets_dir, std::string_view wallet,
                            std::string_view hotkey) {
  if (Status s = validate_key_name(wallet); !s) return s.error();
  if (Status s = validate_key_name(hotkey); !s) return s.error();
  return load_key_file(wallet_dir(wallets_dir, wallet) + "/hotkeys/" + std::string(hotkey));
}

Result<std::vector<WalletEntry>> list_wallets(const std::string& wallets_dir) {
  std::vector<WalletEntry> out;
  std::error_code ec;
  if (!fs::exists(wallets_dir, ec)) return out;
  for (const auto& entry : fs::directory_iterator(wallets_dir, ec)) {
    std::string name = entry.path().filename().string();
    if (!entry.is_directory() || !validate_key_name(name)) continue;
    WalletEntry w{name, {}, {}};
    if (auto text = read_bounded(entry.path().string() + "/coldkeypub.txt"); text.ok()) {
      auto j = nlohmann::json::parse(*text, nullptr, false);
      if (j.is_object() && j.contains("publicKey") && j["publicKey"].is_string() &&
          parse_address(j["publicKey"].get<std::string>()).ok())
        w.coldkey = j["publicKey"].get<std::string>();
    }
    std::error_code hec;
    for (const auto& h : fs::directory_iterator(entry.path() / "hotkeys", hec)) {
      std::string hname = h.path().filename().string();
      if (!h.is_regular_file() || !validate_key_name(hname)) continue;
      auto k = load_key_file(h.path().string());
      w.hotkeys.emplace_back(hname, k.ok() ? k->address() : std::string());
    }
    std::sort(w.hotkeys.begin(), w.hotkeys.end());
    out.push_back(std::move(w));
  }
  if (ec) return Error{"io_error", fmt::format("cannot list {}: {}", wallets_dir, ec.message())};
  std::sort(out.begin(), out.end(),
            [](const WalletEntry& a, const WalletEntry& b) { return a.name < b.name; });
  return out;
}

}  // namespace cacheon::ledger
