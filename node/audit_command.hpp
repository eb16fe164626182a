// `pointchain-node audit`: replays a data directory and prints what an auditor needs.
#pragma once

#include <filesystem>
#include <iosfwd>
#include <nlohmann/json.hpp>

#include "ledger/audit.hpp"
#include "node/worker_pool.hpp"

namespace pc::node {

// Exit codes, documented in docs/audit.md.
inline constexpr int audit_exit_ok = 0;
inline constexpr int audit_exit_fault = 1;      // the chain has a fault; the output names it
inline constexpr int audit_exit_unusable = 2;   // no genesis, unreadable store, bad arguments

// A partner's figures under the names both the audit's --json and the RPC's get_partners use:
// issued, redeemed_at, issued_redeemed, expired, reversed, reversal_shortfall, liability.
nlohmann::json partner_figures_json(const ledger::PartnerStats& stats);

// One evidence record as the audit's --json and the RPC's get_evidence show it: height, round,
// type, validator, validator_name, block_ids (two, null for nil) and hex (the encoding).
nlohmann::json evidence_json(const ledger::Genesis& genesis, const ledger::Evidence& evidence);

// ledger::audit_chain with its stateless checks spread over `pool` and run in a background
// thread while the calling thread applies the previous window.
ledger::AuditReport audit_in_parallel(const ledger::ChainStore& store, WorkerPool& pool);

// Audits `data_dir` (genesis.json + chain/) using every core, prints a text or JSON summary
// to `out`, and returns an exit code.
int run_audit(const std::filesystem::path& data_dir, bool json, std::ostream& out);

}  // namespace pc::node
