#include "node/audit_command.hpp"

#include <iomanip>
#include <nlohmann/json.hpp>
#include <ostream>
#include <thread>

#include "ledger/audit.hpp"
#include "ledger/protocol.hpp"
#include "node/height_claims.hpp"
#include "node/worker_pool.hpp"

namespace pc::node {
namespace {

using Json = nlohmann::json;

std::string block_or_nil(const std::optional<ledger::Hash256>& block_id) { return block_id ? to_hex(*block_id) : "nil"; }

}  // namespace

nlohmann::json evidence_json(const ledger::Genesis& genesis, const ledger::Evidence& evidence) {
  const ledger::Vote& vote = evidence.first;
  const ledger::Partner* validator = genesis.partner(vote.validator);
  const auto block_id = [](const std::optional<ledger::Hash256>& id) { return id ? Json(to_hex(*id)) : Json(nullptr); };
  return Json{{"height", vote.height},
              {"round", vote.round},
              {"type", ledger::vote_type_name(vote.type)},
              {"validator", vote.validator},
              {"validator_name", validator != nullptr ? validator->name : ""},
              {"block_ids", Json::array({block_id(evidence.first.block_id), block_id(evidence.second.block_id)})},
              {"hex", to_hex(evidence.encode())}};
}

nlohmann::json partner_figures_json(const ledger::PartnerStats& stats) {
  return Json{{"issued", stats.issued},
              {"redeemed_at", stats.redeemed_at},
              {"issued_redeemed", stats.issued_redeemed},
              {"expired", stats.expired},
              {"reversed", stats.reversed},
              {"reversal_shortfall", stats.reversal_shortfall},
              {"liability", stats.outstanding()}};
}

namespace {

Json report_json(const ledger::Genesis& genesis, const ledger::AuditReport& report) {
  Json json;
  json["ok"] = report.ok;
  json["chain_id"] = genesis.chain_id;
  json["blocks"] = report.blocks;
  json["transactions"] = report.transactions;
  json["tip"] = {{"height", report.tip.height},
                 {"block_hash", to_hex(report.tip.block_hash)},
                 {"state_hash", to_hex(report.tip.state_hash)}};
  if (!report.ok) {
    json["fault"] = {{"height", report.fault_height},
                     {"code", ledger::code_name(report.fault.code)},
                     {"detail", report.fault.detail}};
    return json;
  }
  const ledger::Totals& totals = report.totals;
  json["supply"] = {{"issued", totals.issued},       {"redeemed", totals.redeemed},
                    {"expired", totals.expired},     {"reversed", totals.reversed},
                    {"outstanding", totals.balance_sum}, {"accounts", totals.accounts}};
  json["partners"] = Json::array();
  for (const auto& [id, stats] : report.partners) {
    Json partner{{"id", id}, {"name", genesis.partner(id)->name}};
    partner.update(partner_figures_json(stats));
    json["partners"].push_back(std::move(partner));
  }
  json["settlement"] = Json::array();
  for (const auto& [key, points] : report.settlement) {
    json["settlement"].push_back({{"issuer", key.first}, {"redeemed_at", key.second}, {"points", points}});
  }
  json["evidence"] = Json::array();
  for (const ledger::Evidence& evidence : report.evidence) json["evidence"].push_back(evidence_json(genesis, evidence));
  if (ledger::has_rewards_catalog(genesis.protocol_version)) {
    json["catalog"] = {{"rewards", report.catalog.rewards},
                       {"redeemed", report.catalog.redeemed},
                       {"vouchers", report.catalog.vouchers},
                       {"vouchers_used", report.catalog.vouchers_used}};
  }
  if (!genesis.policy.tiers.tiers.empty()) {
    Json tiers = Json::array();
    for (std::size_t i = 0; i < report.customers_per_tier.size(); ++i) {
      tiers.push_back({{"tier", i + 1}, {"name", genesis.policy.tiers.tiers[i].name}, {"customers", report.customers_per_tier[i]}});
    }
    json["tiers"] = {{"customers", std::move(tiers)}, {"grants_running", report.grants_running}};
  }
  if (ledger::has_points_payments(genesis.protocol_version)) {
    json["paid_with_points"] = Json::array();
    for (const auto& [key, paid] : report.paid_with_points) {
      json["paid_with_points"].push_back({{"partner", key.first},
                                          {"currency", key.second},
                                          {"payments", paid.payments},
                                          {"points", paid.points},
                                          {"amount_minor", paid.amount_minor}});
    }
  }
  return json;
}

void print_text(const ledger::Genesis& genesis, const ledger::AuditReport& report, std::ostream& out) {
  if (!report.ok) {
    out << "audit: FAULT at height " << report.fault_height << ": " << report.fault.message() << "\n"
        << "  verified before the fault: " << report.blocks << " blocks, " << report.transactions
        << " transactions\n";
    return;
  }
  const ledger::Totals& totals = report.totals;
  out << "audit: OK\n"
      << "chain " << genesis.chain_id << " (" << genesis.coalition_name << "): " << report.blocks
      << " blocks, " << report.transactions << " transactions, every hash link, Merkle root,"
      << " signature, commit and state hash verified\n"
      << "tip: height " << report.tip.height << ", block " << to_hex(report.tip.block_hash) << "\n"
      << "supply: issued " << totals.issued << ", redeemed " << totals.redeemed << ", expired "
      << totals.expired << ", reversed " << totals.reversed << ", outstanding " << totals.balance_sum
      << " in " << totals.accounts << " accounts (= issued - redeemed - expired - reversed)\n"
      << "partners:\n"
      << "  " << std::left << std::setw(4) << "id" << std::setw(20) << "name" << std::right
      << std::setw(10) << "issued" << std::setw(12) << "redeemed_at" << std::setw(10) << "expired"
      << std::setw(10) << "reversed" << std::setw(11) << "shortfall" << std::setw(11) << "liability"
      << "\n";
  for (const auto& [id, stats] : report.partners) {
    out << "  " << std::left << std::setw(4) << id << std::setw(20) << genesis.partner(id)->name
        << std::right << std::setw(10) << stats.issued << std::setw(12) << stats.redeemed_at
        << std::setw(10) << stats.expired << std::setw(10) << stats.reversed << std::setw(11)
        << stats.reversal_shortfall << std::setw(11) << stats.outstanding() << "\n";
  }
  if (ledger::has_rewards_catalog(genesis.protocol_version)) {
    const auto& catalog = report.catalog;
    out << "catalog: " << catalog.rewards << " rewards, " << catalog.redeemed << " units redeemed, "
        << catalog.vouchers << " vouchers (" << catalog.vouchers_used << " used)\n";
  }
  if (!genesis.policy.tiers.tiers.empty()) {
    out << "tiers:";
    for (std::size_t i = 0; i < report.customers_per_tier.size(); ++i) {
      out << (i == 0 ? " " : ", ") << genesis.policy.tiers.tiers[i].name << " " << report.customers_per_tier[i];
    }
    out << " customers; " << report.grants_running << " grants running\n";
  }
  if (ledger::has_points_payments(genesis.protocol_version)) {
    out << "paid with points at the tills (money value):\n";
    if (report.paid_with_points.empty()) out << "  none\n";
    for (const auto& [key, paid] : report.paid_with_points) {
      out << "  " << genesis.partner(key.first)->name << ": " << paid.payments << " payments, " << paid.points
          << " points, " << paid.amount_minor << " " << key.second << " minor units\n";
    }
  }
  out << "settlement (points issued by -> redeemed at):\n";
  if (report.settlement.empty()) out << "  none\n";
  for (const auto& [key, points] : report.settlement) {
    out << "  " << genesis.partner(key.first)->name << " -> " << genesis.partner(key.second)->name
        << ": " << points << "\n";
  }
  out << "evidence (two conflicting votes signed by one validator, each pair verified):\n";
  if (report.evidence.empty()) out << "  none\n";
  for (const ledger::Evidence& evidence : report.evidence) {
    const ledger::Vote& vote = evidence.first;
    out << "  " << genesis.partner(vote.validator)->name << " (validator " << vote.validator << ") at height "
        << vote.height << ", round " << vote.round << ", " << ledger::vote_type_name(vote.type) << ": "
        << block_or_nil(evidence.first.block_id) << " and " << block_or_nil(evidence.second.block_id) << "\n";
  }
}

}  // namespace

ledger::AuditReport audit_in_parallel(const ledger::ChainStore& store, WorkerPool& pool) {
  const auto run_on_pool = [&pool](std::size_t count, const std::function<void(std::size_t)>& job) {
    pool.run(count, job);
  };
  const auto overlap = [](const std::function<void()>& background, const std::function<void()>& foreground) {
    std::thread checker(background);
    foreground();
    checker.join();
  };
  return ledger::audit_chain(store, run_on_pool, overlap);
}

int run_audit(const std::filesystem::path& data_dir, bool json, std::ostream& out) {
  // Nothing could be audited: one line of text, or {"ok": false, "unusable": reason}, so that
  // a tool reading --json always gets JSON.
  const auto unusable = [&](const std::string& reason) {
    if (json) {
      out << Json{{"ok", false}, {"unusable", reason}}.dump(2) << "\n";
    } else {
      out << "audit: " << reason << "\n";
    }
    return audit_exit_unusable;
  };
  auto genesis = ledger::load_genesis_file(data_dir / "genesis.json");
  if (!genesis) return unusable(genesis.error());
  if (!std::filesystem::exists(data_dir / "chain")) return unusable("no chain in " + (data_dir / "chain").string());
  auto store = ledger::ChainStore::open(data_dir / "chain", *genesis, ledger::ChainStore::Mode::raw);
  if (!store) {
    // A store that cannot be read says nothing about the chain; most often a running node holds
    // LevelDB's lock on it. "FAULT at height 0" would send the auditor looking for damage.
    if (store.error().code == ledger::Code::not_found) return unusable(store.error().detail);
    // A newer release's layout: this audit cannot read it, which says nothing of the chain.
    if (store.error().code == ledger::Code::unknown_version) return unusable(store.error().message());
    if (store.error().code == ledger::Code::io_error) {
      const std::string message = store.error().message();
      const bool locked = message.find("lock") != std::string::npos;
      return unusable("cannot read " + (data_dir / "chain").string() + ": " + message +
                      (locked ? " (is a node running on this data dir? stop it first)" : ""));
    }
  // A store that will not open at all (a broken tip record, say) is a fault of the chain.
    ledger::AuditReport report;
    report.fault = store.error();
    if (json) {
      out << report_json(*genesis, report).dump(2) << "\n";
    } else {
      print_text(*genesis, report, out);
    }
    return audit_exit_fault;
  }
  std::optional<std::uint64_t> committed_height;
  try {
    committed_height = CommittedHeightFile::read(data_dir / CommittedHeightFile::file_name);
  } catch (const std::runtime_error& error) {
    return unusable(error.what());
  }
  WorkerPool pool(0, "pc-audit");
  ledger::AuditReport report = audit_in_parallel(**store, pool);
  // A store that lost its newest blocks (a truncated log) is a whole, shorter chain to the
  // replay; the node's record of what it committed says otherwise.
  if (report.ok && committed_height && *committed_height > report.tip.height) {
    report.ok = false;
    report.fault_height = report.tip.height + 1;
    report.fault = ledger::Error{
        ledger::Code::corruption,
        "the store ends at height " + std::to_string(report.tip.height) + ", but " +
            (data_dir / CommittedHeightFile::file_name).string() + " says the node committed blocks up to " +
            std::to_string(*committed_height) + ": blocks " + std::to_string(report.tip.height + 1) + " to " +
            std::to_string(*committed_height) + " are missing"};
  }
  if (json) {
    out << report_json(*genesis, report).dump(2) << "\n";
  } else {
    print_text(*genesis, report, out);
  }
  return report.ok ? audit_exit_ok : audit_exit_fault;
}

}  // namespace pc::node
