#include "node/snapshot.hpp"

#include "crypto/check.hpp"

namespace pc::node {

std::shared_ptr<const CommittedBlock> Snapshot::recent_block(std::uint64_t height) const {
  for (const auto& block : recent_blocks) {
    if (block->block.header.height == height) return block;
  }
  return nullptr;
}

std::shared_ptr<const Snapshot> make_snapshot(const ledger::ChainStore& store,
                                              std::vector<std::shared_ptr<const CommittedBlock>> recent_blocks) {
  auto snapshot = std::make_shared<Snapshot>();
  const ledger::State& state = store.state();
  snapshot->tip = store.tip();
  snapshot->totals = state.totals();
  for (const ledger::Partner& partner : store.genesis().partners) {
    const ledger::PartnerStats* stats = state.partner(partner.id);
    PC_CHECK(stats != nullptr);
    snapshot->partners.emplace_back(partner, *stats);
  }
  snapshot->settlement = state.settlement_matrix();
  for (const ledger::Partner& partner : store.genesis().partners) {
    if (const ledger::PointValueRecord* value = state.point_value(partner.id)) snapshot->point_values[partner.id] = *value;
  }
  snapshot->payment_totals = state.payment_totals();
  snapshot->prepaid = state.prepaid_balances();
  if (recent_blocks.size() > Snapshot::recent_blocks_max) {
    recent_blocks.erase(recent_blocks.begin(),
                        recent_blocks.end() - static_cast<std::ptrdiff_t>(Snapshot::recent_blocks_max));
  }
  snapshot->recent_blocks = std::move(recent_blocks);
  snapshot->store = store.view();
  return snapshot;
}

}  // namespace pc::node
