// The coalition state machine. Deterministic: no clock (block time comes in a BlockContext),
// no threads, no I/O. The state is a set of canonical records (docs/protocol.md, "State
// records"); a block's state hash chains the digest of the records it changed onto the
// previous state hash, so two nodes that agree on the hash agree on every record.
//
//   State          the committed state, in memory. Read-only to everyone but apply().
//   BlockExecutor  stages one block's changes over a State; each transaction is all or
//                  nothing; finish() yields the BlockChanges to commit.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "ledger/genesis.hpp"
#include "ledger/transaction.hpp"

namespace pc::ledger {

// An issuance is named by where it was included: (block height, position in the block).
struct IssuanceId {
  std::uint64_t height = 0;
  std::uint32_t index = 0;

  auto operator<=>(const IssuanceId&) const = default;
};

// Points from one issuance held by one account.
struct Lot {
  PartnerId partner = 0;          // who issued them (and owes them)
  IssuanceId issuance;
  std::uint64_t points = 0;       // still unspent
  std::uint64_t earned_at_ms = 0;     // block time of the issuance; expiry counts from here
  std::uint64_t spendable_at_ms = 0;  // pending until this block time (the return window)

  bool operator==(const Lot&) const = default;
};

struct Account {
  std::uint64_t sequence = 0;  // last sequence used by this account's key; next must be +1
  std::vector<Lot> lots;       // oldest first: by (earned_at_ms, issuance)

  std::uint64_t balance() const;                          // pending included
  std::uint64_t spendable(std::uint64_t time_ms) const;   // pending excluded

  bool operator==(const Account&) const = default;
};

struct PartnerStats {
  std::uint64_t issuer_sequence = 0;
  std::uint64_t issued = 0;             // all points it ever issued
  std::uint64_t redeemed_at = 0;        // points customers redeemed at this partner
  std::uint64_t issued_redeemed = 0;    // its points that were redeemed, at any partner
  std::uint64_t expired = 0;            // its points that expired unspent (breakage)
  std::uint64_t reversed = 0;           // its points taken back by Reverse
  std::uint64_t reversal_shortfall = 0; // points a Reverse could not take back (spent or moved)

  // Liability: its points still held by customers.
  std::uint64_t outstanding() const { return issued - issued_redeemed - expired - reversed; }

  bool operator==(const PartnerStats&) const = default;
};

struct IssuanceRecord {
  IssuanceId id;
  PublicKey customer{};
  std::uint64_t points = 0;
  std::uint64_t spendable_at_ms = 0;
  bool reversed = false;
  std::uint64_t reversed_points = 0;
  std::uint64_t shortfall_points = 0;

  bool operator==(const IssuanceRecord&) const = default;
};

struct Totals {
  std::uint64_t issued = 0;
  std::uint64_t redeemed = 0;
  std::uint64_t expired = 0;
  std::uint64_t reversed = 0;
  std::uint64_t balance_sum = 0;  // kept apart from the counters so the invariant can be checked
  std::uint64_t accounts = 0;

  bool operator==(const Totals&) const = default;
};

// Something a partner's systems may want to hear about (earned, redeemed, ...). Derived
// from execution; not part of the state hash.
struct Event {
  enum class Kind { earned, redeemed, transferred_out, transferred_in, expired, reversed };
  Kind kind;
  PublicKey account{};
  PartnerId partner = 0;     // issuer for earned/expired/reversed, redeeming partner for redeemed
  std::uint64_t points = 0;
  Hash256 tx_id{};           // zero for expiry
};
std::string_view event_kind_name(Event::Kind kind);

struct Record {
  Bytes key;
  Bytes value;
  bool operator==(const Record&) const = default;
};

struct BlockContext {
  std::uint64_t height = 0;
  std::uint64_t time_ms = 0;
};

// already_verified: the caller has run verify_transaction_signature on the transaction (or
// on the block, with verify_block_signatures) against this chain's genesis.
enum class SignatureCheck { verify, already_verified };

// What one block changed, ready to commit to a State and to write to the store.
struct BlockChanges {
  BlockContext context;
  std::vector<Record> records;  // every changed record, sorted by key
  Hash256 changes_digest{};
  Hash256 state_hash{};
  std::vector<Event> events;
  std::uint32_t applied_count = 0;

  // The staged values, moved into the State by State::apply.
  std::map<PublicKey, Account> accounts;
  std::map<PartnerId, PartnerStats> partners;
  std::map<std::pair<PartnerId, std::string>, IssuanceRecord> issuances;
  std::map<std::pair<PartnerId, PartnerId>, std::uint64_t> settlement;
  Totals totals;
};

class State {
 public:
  // The state before the first block.
  explicit State(Genesis genesis);
  // Rebuilds a state from stored records (as State::records() wrote them). corruption if a
  // record does not decode or the records break an invariant.
  static Result<State> from_records(Genesis genesis, std::uint64_t height, std::uint64_t time_ms,
                                    const Hash256& state_hash, const std::vector<Record>& records);

  const Genesis& genesis() const { return genesis_; }
  std::uint64_t height() const { return height_; }
  std::uint64_t time_ms() const { return time_ms_; }
  const Hash256& state_hash() const { return state_hash_; }

  const Account* account(const PublicKey& key) const;
  const PartnerStats* partner(PartnerId id) const;
  const IssuanceRecord* issuance(PartnerId partner, const std::string& reference) const;
  // The references of `partner`'s issuances that start with `prefix`, in byte order, at most
  // `count_max` of them: O(log issuances + count_max).
  std::vector<std::string> issuance_references_with_prefix(PartnerId partner, std::string_view prefix,
                                                           std::size_t count_max) const;
  std::uint64_t settlement(PartnerId issuer, PartnerId redeemer) const;
  const std::map<std::pair<PartnerId, PartnerId>, std::uint64_t>& settlement_matrix() const {
    return settlement_;
  }
  const Totals& totals() const { return totals_; }

  // Every record of the state, sorted by key: what the store holds.
  std::vector<Record> records() const;

  // The block time at which the next lot expires (the earliest over all accounts), or nullopt
  // when none can. A block whose time is at or after it expires that lot; a node uses this to
  // produce a block on time even when no transaction is pending.
  std::optional<std::uint64_t> next_expiry_ms() const;

  // Commits an executed block. Precondition: `changes` came from a BlockExecutor over this
  // state (heights strictly increase; asserted).
  void apply(BlockChanges&& changes);

  // Recomputes every balance and counter from scratch and compares: O(state). The audit and
  // the tests call it; apply() checks the cheap form (totals against per-partner counters).
  Status check_invariants() const;

 private:
  friend class BlockExecutor;
  void reindex_expiry(const PublicKey& key, const Account* before, const Account& after);
  std::uint64_t expiry_ms() const;

  Genesis genesis_;
  std::uint64_t height_ = 0;
  std::uint64_t time_ms_ = 0;
  Hash256 state_hash_{};
  std::map<PublicKey, Account> accounts_;
  std::map<PartnerId, PartnerStats> partners_;
  std::map<std::pair<PartnerId, std::string>, IssuanceRecord> issuances_;
  std::map<std::pair<PartnerId, PartnerId>, std::uint64_t> settlement_;
  Totals totals_;
  // Derived, not stored: accounts by the time their oldest lot expires.
  std::set<std::pair<std::uint64_t, PublicKey>> expiry_queue_;
};

// Everything about a transaction that can be checked without changing state, so callers can
// spread it over threads and then apply with SignatureCheck::already_verified:
//  - the signature, against the partner's issuer key (Issue, Reverse) or the customer's key
//    (Redeem, Transfer);
//  - that every key the transaction could open a new account for (Issue's customer,
//    Transfer's recipient) passes crypto::is_valid_public_key. That check costs about as
//    much as a signature check, so keys that already have an account in `accounts_from` are
//    skipped: they were checked when the account was opened, and accounts are never removed.
// Thread-safe while nobody modifies `accounts_from` (nullptr: check every key).
Status verify_transaction_signature(const Genesis& genesis, const Transaction& tx,
                                    const State* accounts_from = nullptr);
// The key a transaction may open an account for: Issue's customer, Transfer's recipient.
std::optional<PublicKey> receiving_key(const Transaction& tx);

// The same, with the accounts known to exist given by a predicate (thread-safe if it is):
// the audit checks one window while the previous one is being applied to its State.
Status verify_transaction_signature(const Genesis& genesis, const Transaction& tx,
                                    const std::function<bool(const PublicKey&)>& has_account);

class BlockExecutor {
 public:
  // Starts a block on top of `base`: expires every lot whose expiry falls at or before the
  // block time. Precondition: context.height == base.height() + 1 and the time is later.
  BlockExecutor(const State& base, BlockContext context);

  // Applies one transaction; on any error nothing it touched is changed.
  Status apply(const Transaction& tx, SignatureCheck check);

  // The block's changes and new state hash. Asserts the supply invariant.
  BlockChanges finish() &&;

  const BlockContext& context() const { return changes_.context; }

 private:
  Account load_account(const PublicKey& key, bool& exists) const;
  PartnerStats load_partner(PartnerId id) const;
  const IssuanceRecord* find_issuance(PartnerId partner, const std::string& reference) const;
  std::uint64_t load_settlement(PartnerId issuer, PartnerId redeemer) const;
  void expire_lots();

  Status apply_issue(const Transaction& tx, const Issue& issue);
  Status apply_redeem(const Transaction& tx, const Redeem& redeem);
  Status apply_transfer(const Transaction& tx, const Transfer& transfer);
  Status apply_reverse(const Transaction& tx, const Reverse& reverse);

  const State& base_;
  BlockChanges changes_;
};

// Record keys and codecs, shared by the store, the audit and docs/protocol.md's examples.
namespace record {
Bytes account_key(const PublicKey& key);
Bytes partner_key(PartnerId id);
Bytes issuance_key(PartnerId partner, std::string_view reference);
Bytes settlement_key(PartnerId issuer, PartnerId redeemer);
Bytes totals_key();
Bytes encode(const Account& account);
Bytes encode(const PartnerStats& stats);
Bytes encode(const IssuanceRecord& issuance);
Bytes encode_settlement(std::uint64_t points);
Bytes encode(const Totals& totals);
// An account record's value as encode(const Account&) wrote it; corruption if it does not
// decode exactly.
Result<Account> decode_account_value(ByteSpan value);
// tagged_hash(state_changes, count || (key, value)...) over records sorted by key.
Hash256 changes_digest(const std::vector<Record>& sorted_records);
Hash256 chain_state_hash(const Hash256& previous, const Hash256& digest);
}  // namespace record

}  // namespace pc::ledger
