// `cacheon ledger blocks | metagraph | commitments | weights`: read-only views of the chain.
#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/ledger_cli.h"

namespace cacheon::cli {
namespace {

using ledger::LocalLedger;
using nlohmann::json;

struct InspectOpts {
  std::shared_ptr<LedgerCliOptions> common;
  int netuid = 1;
  int64_t at = -1, from = 0, to = -1, last = 10;
};

int with_ledger(const InspectOpts& o, const std::function<int(LocalLedger&)>& body) {
  auto l = open_ledger(*o.common);
  if (!l.ok()) return report_error(l.error(), o.common->json);
  return body(**l);
}

Result<int64_t> at_or_head(LocalLedger& l, int64_t at) {
  if (at >= 0) return at;
  auto h = l.head();
  if (!h.ok()) return h.error();
  return h->number;
}

// Commitment data is miner-chosen bytes: shown as text, control bytes escaped, bounded.
std::string printable(const std::string& data, size_t max) {
  std::string out;
  for (unsigned char c : data.substr(0, max))
    out += (c < 0x20 || c == 0x7f) ? fmt::format("\\x{:02x}", c) : std::string(1, char(c));
  return data.size() > max ? out + "..." : out;
}

int run_blocks(const InspectOpts& o) {
  return with_ledger(o, [&](LocalLedger& l) {
    auto h = l.head();
    if (!h.ok()) return report_error(h.error(), o.common->json);
    auto blocks = l.blocks(std::max<int64_t>(0, h->number - o.last + 1), h->number);
    if (!blocks.ok()) return report_error(blocks.error(), o.common->json);
    json out = json::array();
    if (!o.common->json) fmt::print("{:>8}  {:<66}  {:<20}  calls\n", "block", "hash", "time");
    for (const auto& b : *blocks) {
      auto calls = l.calls_in_block(b.number);
      if (!calls.ok()) return report_error(calls.error(), o.common->json);
      json bj = to_json(b);
      bj["calls"] = json::array();
      std::string kinds;
      for (const auto& c : *calls) {
        bj["calls"].push_back({{"id", c.id}, {"kind", c.kind}, {"signer", c.signer}});
        kinds += (kinds.empty() ? "" : ",") + c.kind;
      }
      out.push_back(bj);
      if (!o.common->json)
        fmt::print("{:>8}  {}  {}  {}\n", b.number, b.hash, utc_time(b.timestamp_ms),
                   kinds.empty() ? "-" : kinds);
    }
    if (o.common->json) print_json(out);
    return 0;
  });
}

int run_metagraph(const InspectOpts& o) {
  return with_ledger(o, [&](LocalLedger& l) {
    auto at = at_or_head(l, o.at);
    auto mg =
        at.ok() ? l.metagraph(o.netuid, *at) : Result<std::vector<ledger::Neuron>>(at.error());
    if (!mg.ok()) return report_error(mg.error(), o.common->json);
    json out = json::array();
    for (const auto& n : *mg)
      out.push_back({{"uid", n.uid},
                     {"hotkey", n.hotkey},
                     {"coldkey", n.coldkey},
                     {"registered_at", n.registered_at}});
    if (o.common->json) {
      print_json({{"netuid", o.netuid}, {"block", *at}, {"neurons", out}});
      return 0;
    }
    fmt::print("subnet {} at block {}: {} registered\n{:>5}  {:<66}  {:<66}  since\n", o.netuid,
               *at, mg->size(), "uid", "hotkey", "coldkey");
    for (const auto& n : *mg)
      fmt::print("{:>5}  {}  {}  {}\n", n.uid, n.hotkey, n.coldkey, n.registered_at);
    return 0;
  });
}

int run_commitments(const InspectOpts& o) {
  return with_ledger(o, [&](LocalLedger& l) {
    auto to = at_or_head(l, o.to);
    auto cs = to.ok() ? l.commitments(o.netuid, o.from, *to)
                      : Result<std::vector<ledger::Commitment>>(to.error());
    if (!cs.ok()) return report_error(cs.error(), o.common->json);
    json out = json::array();
    for (const auto& c : *cs)
      out.push_back({{"block", c.block}, {"hotkey", c.hotkey}, {"data", c.data}});
    if (o.common->json) {
      print_json(
          {{"netuid", o.netuid}, {"from_exclusive", o.from}, {"to", *to}, {"commitments", out}});
      return 0;
    }
    fmt::print("subnet {} commitments in blocks ({}, {}]: {}\n", o.netuid, o.from, *to, cs->size());
    for (const auto& c : *cs)
      fmt::print("{:>8}  {}  {}\n", c.block, c.hotkey, printable(c.data, 200));
    return 0;
  });
}

int run_weights(const InspectOpts& o) {
  return with_ledger(o, [&](LocalLedger& l) {
    auto at = at_or_head(l, o.at);
    auto ws = at.ok() ? l.all_weights(o.netuid, *at)
                      : Result<std::vector<ledger::WeightsSet>>(at.error());
    if (!ws.ok()) return report_error(ws.error(), o.common->json);
    json out = json::array();
    for (const auto& w : *ws) {
      json pairs = json::array();
      for (const auto& p : w.weights) pairs.push_back({{"uid", p.uid}, {"weight", p.weight}});
      out.push_back({{"validator", w.validator_hotkey}, {"block", w.block}, {"weights", pairs}});
    }
    if (o.common->json) {
      print_json({{"netuid", o.netuid}, {"block", *at}, {"weights", out}});
      return 0;
    }
    fmt::print("subnet {} weights at block {}\n", o.netuid, *at);
    for (const auto& w : *ws) {
      std::string pairs;
      for (const auto& p : w.weights) pairs += fmt::format(" {}:{}", p.uid, p.weight);
      fmt::print("{} set at block {}:{}\n", w.validator_hotkey, w.block, pairs);
    }
    return 0;
  });
}

}  // namespace

void add_ledger_inspect_commands(CLI::App* ledger, const std::shared_ptr<LedgerCliOptions>& common,
                                 SubcommandRuns& runs) {
  auto o = std::make_shared<InspectOpts>();
  o->common = common;
  auto add = [&](const char* name, const char* help, int (*run)(const InspectOpts&)) {
    CLI::App* sub = ledger->add_subcommand(name, help);
    add_ledger_options(sub, *common, false);
    runs.emplace_back(sub, [o, run] { return run(*o); });
    return sub;
  };
  auto* blocks =
      add("blocks", "The latest blocks: hash, time and the calls each includes", run_blocks);
  blocks->add_option("--last", o->last, "How many")
      ->capture_default_str()
      ->check(CLI::Range(int64_t(1), int64_t(100000)));
  auto* mg = add("metagraph", "UIDs, hotkeys and their coldkeys at a block", run_metagraph);
  mg->add_option("--netuid", o->netuid, "Subnet id")->capture_default_str();
  mg->add_option("--at", o->at, "Block (default: head)");
  auto* cs = add("commitments", "Commitments included in blocks (from, to]", run_commitments);
  cs->add_option("--netuid", o->netuid, "Subnet id")->capture_default_str();
  cs->add_option("--from", o->from, "After this block")->capture_default_str();
  cs->add_option("--to", o->to, "Up to this block (default: head)");
  auto* ws = add("weights", "The latest weights of every validator at a block", run_weights);
  ws->add_option("--netuid", o->netuid, "Subnet id")->capture_default_str();
  ws->add_option("--at", o->at, "Block (default: head)");
}

}  // namespace cacheon::cli
