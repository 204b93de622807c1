// The wallet directory, laid out like Bittensor's (~/.bittensor/wallets):
//   <wallets>/<name>/coldkey              {"accountId","publicKey","secretSeed"}  mode 0600
//   <wallets>/<name>/coldkeypub.txt       {"accountId","publicKey"}               mode 0644
//   <wallets>/<name>/hotkeys/<hotkey>     {"accountId","publicKey","secretSeed"}  mode 0600
// Keys are Ed25519 (not Bittensor's sr25519): these wallets sign for the embedded ledger.
// Files are written atomically (temporary file, then link/rename) and an existing key is never
// replaced unless the caller asks to overwrite. Key files read back are treated as untrusted:
// bounded size, strict JSON, and the stored public key must match the seed.
#pragma once
#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"
#include "ledger/keys.h"

namespace cacheon::ledger {

// $CACHEON_HOME/wallets, else $HOME/.cacheon/wallets.
std::string default_wallets_dir();

// Wallet and hotkey names: 1..64 of [A-Za-z0-9_.-], not starting with '.' (so no "..", no
// hidden files, no '/'). "bad_name" otherwise.
Status validate_key_name(std::string_view name);

struct KeyFileOptions {
  bool overwrite = false;                       // replace an existing key file
  std::optional<std::array<uint8_t, 32>> seed;  // deterministic key (tests, demos); else random
};

// "key_exists" when the file is there and overwrite is false; "io_error" on a write failure.
Result<Keypair> create_coldkey(const std::string& wallets_dir, std::string_view wallet,
                               const KeyFileOptions& options = {});
Result<Keypair> create_hotkey(const std::string& wallets_dir, std::string_view wallet,
                              std::string_view hotkey, const KeyFileOptions& options = {});

// "no_key" when missing; "bad_key_file" when unreadable, malformed or inconsistent.
Result<Keypair> load_coldkey(const std::string& wallets_dir, std::string_view wallet);
Result<Keypair> load_hotkey(const std::string& wallets_dir, std::string_view wallet,
                            std::string_view hotkey);

struct WalletEntry {
  std::string name;
  std::string coldkey;  // address from coldkeypub.txt; empty when unreadable
  std::vector<std::pair<std::string, std::string>> hotkeys;  // (name, address), sorted by name
};
// Every wallet under the directory, sorted by name (an absent directory is an empty list).
Result<std::vector<WalletEntry>> list_wallets(const std::string& wallets_dir);

}  // namespace cacheon::ledger
