#include "node/consensus/signer.hpp"

#include <tuple>

namespace pc::consensus {

SignerGuard::SignerGuard(const crypto::SecretKey& key, SignerStateStore& store)
    : key_(key), store_(store), last_(store.load()) {}

std::optional<crypto::Signature> SignerGuard::sign(std::uint64_t height, std::uint32_t round, Step step,
                                                   const Bytes& message) {
  const LastSigned next{height, round, step, crypto::sha256(message)};
  if (last_) {
    const auto position = [](const LastSigned& s) { return std::tuple(s.height, s.round, s.step); };
    if (position(next) < position(*last_)) return std::nullopt;
    if (position(next) == position(*last_) && next.sign_bytes_digest != last_->sign_bytes_digest) return std::nullopt;
  }
  if (!last_ || !(*last_ == next)) {
    store_.store(next);  // durable before the signature exists
    last_ = next;
  }
  return key_.sign(message);
}

std::optional<crypto::Signature> SignerGuard::sign_proposal(const ledger::Proposal& proposal) {
  return sign(proposal.height, proposal.round, Step::propose, proposal.sign_bytes());
}

std::optional<crypto::Signature> SignerGuard::sign_vote(const ledger::Vote& vote) {
  const Step step = vote.type == ledger::VoteType::prevote ? Step::prevote : Step::precommit;
  return sign(vote.height, vote.round, step, vote.sign_bytes());
}

}  // namespace pc::consensus
