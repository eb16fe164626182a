// The signer guard: the only way consensus signs, so that a validator never signs two
// conflicting messages, not even across a crash and restart (cometbft#6031 is what happens
// otherwise). Before a signature leaves, the guard persists what it is about to sign.
#pragma once

#include <optional>

#include "crypto/keys.hpp"
#include "ledger/votes.hpp"

namespace pc::consensus {

// The steps of a round, in the order a validator signs them.
enum class Step : std::uint8_t { propose = 1, prevote = 2, precommit = 3 };

// The last message a validator signed: its position and a digest of its sign bytes.
struct LastSigned {
  std::uint64_t height = 0;
  std::uint32_t round = 0;
  Step step = Step::propose;
  crypto::Hash256 sign_bytes_digest{};

  bool operator==(const LastSigned&) const = default;
};

// Where the guard keeps LastSigned. store() returns only once the record is durable (the
// node's file-backed version syncs the file and its directory); load() gives the last record
// stored, or nullopt for a validator that never signed.
class SignerStateStore {
 public:
  virtual ~SignerStateStore() = default;
  virtual std::optional<LastSigned> load() const = 0;
  virtual void store(const LastSigned& last) = 0;
};

// Keeps the record in memory. A simulated crash keeps the object, so it models a synced file.
class MemorySignerStateStore final : public SignerStateStore {
 public:
  std::optional<LastSigned> load() const override { return last_; }
  void store(const LastSigned& last) override { last_ = last; }

 private:
  std::optional<LastSigned> last_;
};

// Signs proposals, prevotes and precommits in strictly increasing (height, round, step)
// order. Signing the exact same message again is allowed (ed25519 is deterministic, so it
// gives the same signature: a restarted validator may repeat itself). Anything else at or
// below the last position is refused with nullopt, and nothing is signed. Not thread-safe.
class SignerGuard {
 public:
  // `key` and `store` must outlive the guard. Reads the last record from `store`.
  SignerGuard(const crypto::SecretKey& key, SignerStateStore& store);

  std::optional<crypto::Signature> sign_proposal(const ledger::Proposal& proposal);
  std::optional<crypto::Signature> sign_vote(const ledger::Vote& vote);

  const std::optional<LastSigned>& last() const { return last_; }

 private:
  std::optional<crypto::Signature> sign(std::uint64_t height, std::uint32_t round, Step step, const Bytes& message);

  const crypto::SecretKey& key_;
  SignerStateStore& store_;
  std::optional<LastSigned> last_;
};

}  // namespace pc::consensus
