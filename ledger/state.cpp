#include "ledger/state.hpp"

#include <algorithm>
#include <limits>

#include "crypto/check.hpp"
#include "crypto/domains.hpp"
#include "ledger/codec.hpp"
#include "ledger/limits.hpp"

namespace pc::ledger {
namespace {

constexpr std::uint8_t record_version = 1;
constexpr std::uint8_t account_tag = 'a';
constexpr std::uint8_t issuance_tag = 'i';
constexpr std::uint8_t partner_tag = 'p';
constexpr std::uint8_t settlement_tag = 's';
constexpr std::uint8_t totals_tag = 't';

// Keys are big-endian so that records sort by id.
void big_endian_u16(Bytes& out, std::uint16_t value) {
  out.push_back(static_cast<std::uint8_t>(value >> 8));
  out.push_back(static_cast<std::uint8_t>(value));
}

// Built with reserve() first: GCC 12 warns (falsely) about inserting into a one-byte vector.
Bytes key_with_tag(std::uint8_t tag, ByteSpan body) {
  Bytes out;
  out.reserve(1 + body.size() + 4);
  out.push_back(tag);
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

bool add_overflows(std::uint64_t a, std::uint64_t b) {
  return a > std::numeric_limits<std::uint64_t>::max() - b;
}

bool lot_order(const Lot& a, const Lot& b) {
  return std::tie(a.earned_at_ms, a.issuance) < std::tie(b.earned_at_ms, b.issuance);
}

// Adds points from `lot` to `account`, merging with a lot of the same issuance so that an
// account holds at most one lot per issuance. False if a new lot would pass the limit.
bool receive_lot(Account& account, const Lot& lot) {
  for (Lot& held : account.lots) {
    if (held.issuance == lot.issuance) {
      held.points += lot.points;
      return true;
    }
  }
  if (account.lots.size() >= lots_per_account_max) return false;
  account.lots.insert(std::upper_bound(account.lots.begin(), account.lots.end(), lot, lot_order),
                      lot);
  return true;
}

Error sequence_error(std::uint64_t used, std::uint64_t given) {
  if (given <= used) {
    return Error{Code::sequence_too_low,
                 "sequence " + std::to_string(given) + " is used; next is " + std::to_string(used + 1)};
  }
  return Error{Code::sequence_too_high,
               "sequence " + std::to_string(given) + " skips ahead; next is " + std::to_string(used + 1)};
}

Error insufficient(std::uint64_t spendable, std::uint64_t needed) {
  return Error{Code::insufficient_balance, "has " + std::to_string(spendable) +
                                               " spendable points, needs " + std::to_string(needed)};
}

Account decode_account(Reader& in) {
  Account account;
  account.sequence = in.u64();
  const std::uint64_t count = in.length(lots_per_account_max, "lot count");
  for (std::uint64_t i = 0; i < count && in.ok(); ++i) {
    Lot lot;
    lot.partner = in.u16();
    lot.issuance.height = in.u64();
    lot.issuance.index = in.u32();
    lot.points = in.u64();
    lot.earned_at_ms = in.u64();
    lot.spendable_at_ms = in.u64();
    account.lots.push_back(lot);
  }
  return account;
}

PartnerStats decode_partner(Reader& in) {
  PartnerStats stats;
  stats.issuer_sequence = in.u64();
  stats.issued = in.u64();
  stats.redeemed_at = in.u64();
  stats.issued_redeemed = in.u64();
  stats.expired = in.u64();
  stats.reversed = in.u64();
  stats.reversal_shortfall = in.u64();
  return stats;
}

IssuanceRecord decode_issuance(Reader& in) {
  IssuanceRecord issuance;
  issuance.id.height = in.u64();
  issuance.id.index = in.u32();
  issuance.customer = in.fixed<32>();
  issuance.points = in.u64();
  issuance.spendable_at_ms = in.u64();
  issuance.reversed = in.u8() != 0;
  issuance.reversed_points = in.u64();
  issuance.shortfall_points = in.u64();
  return issuance;
}

Totals decode_totals(Reader& in) {
  Totals totals;
  totals.issued = in.u64();
  totals.redeemed = in.u64();
  totals.expired = in.u64();
  totals.reversed = in.u64();
  totals.balance_sum = in.u64();
  totals.accounts = in.u64();
  return totals;
}

template <class Map>
void collect_changed(const Map& map, std::vector<Record>& out, auto key_of, auto encode_value) {
  for (const auto& [key, value] : map) out.push_back({key_of(key), encode_value(value)});
}

}  // namespace

std::string_view event_kind_name(Event::Kind kind) {
  switch (kind) {
    case Event::Kind::earned: return "earned";
    case Event::Kind::redeemed: return "redeemed";
    case Event::Kind::transferred_out: return "transferred_out";
    case Event::Kind::transferred_in: return "transferred_in";
    case Event::Kind::expired: return "expired";
    case Event::Kind::reversed: return "reversed";
  }
  return "unknown";
}

std::uint64_t Account::balance() const {
  std::uint64_t total = 0;
  for (const Lot& lot : lots) total += lot.points;
  return total;
}

std::uint64_t Account::spendable(std::uint64_t time_ms) const {
  std::uint64_t total = 0;
  for (const Lot& lot : lots) {
    if (lot.spendable_at_ms <= time_ms) total += lot.points;
  }
  return total;
}

// ---------------------------------------------------------------------------------------
// Records

namespace record {

Bytes account_key(const PublicKey& key) { return key_with_tag(account_tag, key); }

Bytes partner_key(PartnerId id) {
  Bytes out = key_with_tag(partner_tag, {});
  big_endian_u16(out, id);
  return out;
}

Bytes issuance_key(PartnerId partner, std::string_view reference) {
  Bytes out = key_with_tag(issuance_tag, {});
  big_endian_u16(out, partner);
  out.insert(out.end(), reference.begin(), reference.end());
  return out;
}

Bytes settlement_key(PartnerId issuer, PartnerId redeemer) {
  Bytes out = key_with_tag(settlement_tag, {});
  big_endian_u16(out, issuer);
  big_endian_u16(out, redeemer);
  return out;
}

Bytes totals_key() { return key_with_tag(totals_tag, {}); }

Bytes encode(const Account& account) {
  Writer out;
  out.u8(record_version);
  out.u64(account.sequence);
  out.length(account.lots.size());
  for (const Lot& lot : account.lots) {
    out.u16(lot.partner);
    out.u64(lot.issuance.height);
    out.u32(lot.issuance.index);
    out.u64(lot.points);
    out.u64(lot.earned_at_ms);
    out.u64(lot.spendable_at_ms);
  }
  return out.take();
}

Bytes encode(const PartnerStats& stats) {
  Writer out;
  out.u8(record_version);
  out.u64(stats.issuer_sequence);
  out.u64(stats.issued);
  out.u64(stats.redeemed_at);
  out.u64(stats.issued_redeemed);
  out.u64(stats.expired);
  out.u64(stats.reversed);
  out.u64(stats.reversal_shortfall);
  return out.take();
}

Bytes encode(const IssuanceRecord& issuance) {
  Writer out;
  out.u8(record_version);
  out.u64(issuance.id.height);
  out.u32(issuance.id.index);
  out.raw(issuance.customer);
  out.u64(issuance.points);
  out.u64(issuance.spendable_at_ms);
  out.u8(issuance.reversed ? 1 : 0);
  out.u64(issuance.reversed_points);
  out.u64(issuance.shortfall_points);
  return out.take();
}

Bytes encode_settlement(std::uint64_t points) {
  Writer out;
  out.u8(record_version);
  out.u64(points);
  return out.take();
}

Bytes encode(const Totals& totals) {
  Writer out;
  out.u8(record_version);
  out.u64(totals.issued);
  out.u64(totals.redeemed);
  out.u64(totals.expired);
  out.u64(totals.reversed);
  out.u64(totals.balance_sum);
  out.u64(totals.accounts);
  return out.take();
}

Hash256 changes_digest(const std::vector<Record>& sorted_records) {
  Writer out;
  out.raw(domain::state_changes);
  out.length(sorted_records.size());
  for (const Record& entry : sorted_records) {
    out.bytes(entry.key);
    out.bytes(entry.value);
  }
  return crypto::sha256(out.view());
}

Hash256 chain_state_hash(const Hash256& previous, const Hash256& digest) {
  return crypto::tagged_hash(domain::state_chain, {previous, digest});
}

}  // namespace record

// ---------------------------------------------------------------------------------------
// State

State::State(Genesis genesis) : genesis_(std::move(genesis)) {
  time_ms_ = genesis_.genesis_time_ms;
  for (const Partner& partner : genesis_.partners) partners_[partner.id] = PartnerStats{};
  state_hash_ = record::chain_state_hash(genesis_.hash(), record::changes_digest(records()));
}

Result<Account> record::decode_account_value(ByteSpan value) {
  Reader in(value);
  if (in.u8() != record_version) return Error{Code::corruption, "unknown record version"};
  Account account = decode_account(in);
  if (auto status = in.finish(); !status) return Error{Code::corruption, "account record: " + status.error().message()};
  return account;
}

Result<State> State::from_records(Genesis genesis, std::uint64_t height, std::uint64_t time_ms,
                                  const Hash256& state_hash, const std::vector<Record>& records) {
  State state(std::move(genesis));
  state.partners_.clear();
  state.height_ = height;
  state.time_ms_ = time_ms;
  state.state_hash_ = state_hash;
  for (const Record& entry : records) {
    if (entry.key.empty() || entry.value.empty()) return Error{Code::corruption, "empty record"};
    Reader in(entry.value);
    if (in.u8() != record_version) return Error{Code::corruption, "unknown record version"};
    const std::string key_hex = to_hex(entry.key);
    const ByteSpan key_body = ByteSpan(entry.key).subspan(1);
    const auto id_at = [&](std::size_t offset) {
      return static_cast<PartnerId>((key_body[offset] << 8) | key_body[offset + 1]);
    };
    switch (entry.key[0]) {
      case account_tag: {
        if (key_body.size() != 32) return Error{Code::corruption, "account key " + key_hex};
        PublicKey key{};
        std::copy(key_body.begin(), key_body.end(), key.begin());
        Account account = decode_account(in);
        if (in.ok()) {
          state.reindex_expiry(key, nullptr, account);
          state.accounts_.emplace(key, std::move(account));
        }
        break;
      }
      case partner_tag:
        if (key_body.size() != 2) return Error{Code::corruption, "partner key " + key_hex};
        state.partners_[id_at(0)] = decode_partner(in);
        break;
      case issuance_tag: {
        if (key_body.size() < 3) return Error{Code::corruption, "issuance key " + key_hex};
        std::string reference(key_body.begin() + 2, key_body.end());
        state.issuances_[{id_at(0), std::move(reference)}] = decode_issuance(in);
        break;
      }
      case settlement_tag:
        if (key_body.size() != 4) return Error{Code::corruption, "settlement key " + key_hex};
        state.settlement_[{id_at(0), id_at(2)}] = in.u64();
        break;
      case totals_tag:
        if (!key_body.empty()) return Error{Code::corruption, "totals key " + key_hex};
        state.totals_ = decode_totals(in);
        break;
      default:
        return Error{Code::corruption, "unknown record key " + key_hex};
    }
    if (auto status = in.finish(); !status) {
      return Error{Code::corruption, "record " + key_hex + ": " + status.error().message()};
    }
  }
  for (const Partner& partner : state.genesis_.partners) {
    if (state.partner(partner.id) == nullptr) {
      return Error{Code::corruption, "no record for partner " + std::to_string(partner.id)};
    }
  }
  if (state.records() != records) {
    return Error{Code::corruption, "stored records are not in canonical form"};
  }
  if (auto status = state.check_invariants(); !status) return status.error();
  return state;
}

const Account* State::account(const PublicKey& key) const {
  auto found = accounts_.find(key);
  return found == accounts_.end() ? nullptr : &found->second;
}

const PartnerStats* State::partner(PartnerId id) const {
  auto found = partners_.find(id);
  return found == partners_.end() ? nullptr : &found->second;
}

const IssuanceRecord* State::issuance(PartnerId partner, const std::string& reference) const {
  auto found = issuances_.find({partner, reference});
  return found == issuances_.end() ? nullptr : &found->second;
}

std::vector<std::string> State::issuance_references_with_prefix(PartnerId partner, std::string_view prefix,
                                                                std::size_t count_max) const {
  std::vector<std::string> references;
  for (auto it = issuances_.lower_bound({partner, std::string(prefix)});
       it != issuances_.end() && it->first.first == partner && it->first.second.starts_with(prefix) &&
       references.size() < count_max;
       ++it) {
    references.push_back(it->first.second);
  }
  return references;
}

std::uint64_t State::settlement(PartnerId issuer, PartnerId redeemer) const {
  auto found = settlement_.find({issuer, redeemer});
  return found == settlement_.end() ? 0 : found->second;
}

std::vector<Record> State::records() const {
  std::vector<Record> out;
  out.reserve(accounts_.size() + issuances_.size() + partners_.size() + settlement_.size() + 1);
  collect_changed(accounts_, out, record::account_key,
                  [](const Account& value) { return record::encode(value); });
  collect_changed(issuances_, out,
                  [](const auto& key) { return record::issuance_key(key.first, key.second); },
                  [](const IssuanceRecord& value) { return record::encode(value); });
  collect_changed(partners_, out, record::partner_key,
                  [](const PartnerStats& value) { return record::encode(value); });
  collect_changed(settlement_, out,
                  [](const auto& key) { return record::settlement_key(key.first, key.second); },
                  record::encode_settlement);
  out.push_back({record::totals_key(), record::encode(totals_)});
  std::sort(out.begin(), out.end(), [](const Record& a, const Record& b) { return a.key < b.key; });
  return out;
}

std::optional<std::uint64_t> State::next_expiry_ms() const {
  if (expiry_queue_.empty()) return std::nullopt;
  return expiry_queue_.begin()->first;
}

std::uint64_t State::expiry_ms() const {
  return std::uint64_t{genesis_.policy.point_expiry_days} * ms_per_day;
}

void State::reindex_expiry(const PublicKey& key, const Account* before, const Account& after) {
  if (expiry_ms() == 0) return;
  if (before != nullptr && !before->lots.empty()) {
    expiry_queue_.erase({before->lots.front().earned_at_ms + expiry_ms(), key});
  }
  if (!after.lots.empty()) expiry_queue_.insert({after.lots.front().earned_at_ms + expiry_ms(), key});
}

void State::apply(BlockChanges&& changes) {
  PC_CHECK(changes.context.height == height_ + 1);
  PC_CHECK(changes.context.time_ms > time_ms_);
  for (auto& [key, account] : changes.accounts) {
    auto found = accounts_.find(key);
    reindex_expiry(key, found == accounts_.end() ? nullptr : &found->second, account);
    accounts_.insert_or_assign(key, std::move(account));
  }
  for (auto& [id, stats] : changes.partners) partners_[id] = stats;
  for (auto& [key, issuance] : changes.issuances) issuances_.insert_or_assign(key, std::move(issuance));
  for (auto& [key, points] : changes.settlement) settlement_[key] = points;
  totals_ = changes.totals;
  height_ = changes.context.height;
  time_ms_ = changes.context.time_ms;
  state_hash_ = changes.state_hash;
}

Status State::check_invariants() const {
  const auto fail = [](std::string detail) { return Error{Code::invariant_violated, std::move(detail)}; };
  std::map<PartnerId, std::uint64_t> held_by_partner;
  std::uint64_t balance_sum = 0;
  for (const auto& [key, account] : accounts_) {
    for (std::size_t i = 0; i < account.lots.size(); ++i) {
      const Lot& lot = account.lots[i];
      if (lot.points == 0) return fail("an empty lot is kept");
      if (i > 0 && !lot_order(account.lots[i - 1], lot)) return fail("lots out of order");
      held_by_partner[lot.partner] += lot.points;
      balance_sum += lot.points;
    }
  }
  if (accounts_.size() != totals_.accounts) return fail("account count differs from totals");
  if (balance_sum != totals_.balance_sum) return fail("sum of balances differs from totals");
  if (balance_sum != totals_.issued - totals_.redeemed - totals_.expired - totals_.reversed) {
    return fail("sum of balances != issued - redeemed - expired - reversed");
  }
  Totals from_partners;
  std::map<PartnerId, std::uint64_t> redeemed_at;
  std::map<PartnerId, std::uint64_t> issued_redeemed;
  for (const auto& [key, points] : settlement_) {
    issued_redeemed[key.first] += points;
    redeemed_at[key.second] += points;
  }
  for (const auto& [id, stats] : partners_) {
    if (genesis_.partner(id) == nullptr) return fail("stats for a partner not in genesis");
    if (stats.issued < stats.issued_redeemed + stats.expired + stats.reversed) {
      return fail("partner " + std::to_string(id) + " has negative liability");
    }
    if (stats.outstanding() != held_by_partner[id]) {
      return fail("partner " + std::to_string(id) + " liability differs from the lots held");
    }
    if (stats.issued_redeemed != issued_redeemed[id] || stats.redeemed_at != redeemed_at[id]) {
      return fail("partner " + std::to_string(id) + " redemptions differ from settlement");
    }
    from_partners.issued += stats.issued;
    from_partners.redeemed += stats.redeemed_at;
    from_partners.expired += stats.expired;
    from_partners.reversed += stats.reversed;
  }
  if (from_partners.issued != totals_.issued || from_partners.redeemed != totals_.redeemed ||
      from_partners.expired != totals_.expired || from_partners.reversed != totals_.reversed) {
    return fail("per-partner counters do not add up to totals");
  }
  return {};
}

// ---------------------------------------------------------------------------------------
// Signatures

std::optional<PublicKey> receiving_key(const Transaction& tx) {
  if (const auto* issue = std::get_if<Issue>(&tx.fields().body)) return issue->customer;
  if (const auto* transfer = std::get_if<Transfer>(&tx.fields().body)) return transfer->to;
  return std::nullopt;
}

Status verify_transaction_signature(const Genesis& genesis, const Transaction& tx,
                                    const State* accounts_from) {
  if (accounts_from == nullptr) return verify_transaction_signature(genesis, tx, [](const PublicKey&) { return false; });
  return verify_transaction_signature(
      genesis, tx, [accounts_from](const PublicKey& key) { return accounts_from->account(key) != nullptr; });
}

Status verify_transaction_signature(const Genesis& genesis, const Transaction& tx,
                                    const std::function<bool(const PublicKey&)>& has_account) {
  const Bytes message = tx.fields().signing_message();
  if (auto partner_id = tx.partner_signer()) {
    const Partner* partner = genesis.partner(*partner_id);
    if (partner == nullptr) {
      return Error{Code::unknown_partner, "partner " + std::to_string(*partner_id)};
    }
    // Partner keys were checked with is_valid_public_key when the genesis was loaded.
    if (!crypto::verify_prevalidated(partner->issuer_key, message, tx.signature())) {
      return Error{Code::bad_signature, "not signed by partner " + std::to_string(*partner_id)};
    }
  } else if (!crypto::verify_prevalidated(*tx.customer_signer(), message, tx.signature())) {
    // The customer's key is not subgroup-checked here: a Redeem or Transfer can only succeed
    // from an existing account, and an account is only opened for a key that passed
    // is_valid_public_key. For every transaction that can apply, this equals crypto::verify.
    return Error{Code::bad_signature, "not signed by the customer's key"};
  }
  const std::optional<PublicKey> new_account_key = receiving_key(tx);
  if (new_account_key && !has_account(*new_account_key) && !crypto::is_valid_public_key(*new_account_key)) {
    return Error{Code::invalid_public_key, "the receiving key is not a valid ed25519 key"};
  }
  return {};
}

// ---------------------------------------------------------------------------------------
// BlockExecutor

BlockExecutor::BlockExecutor(const State& base, BlockContext context) : base_(base) {
  PC_CHECK(context.height == base.height() + 1);
  PC_CHECK(context.time_ms > base.time_ms());
  changes_.context = context;
  changes_.totals = base.totals();
  expire_lots();
}

Account BlockExecutor::load_account(const PublicKey& key, bool& exists) const {
  exists = true;
  if (auto staged = changes_.accounts.find(key); staged != changes_.accounts.end()) {
    return staged->second;
  }
  if (const Account* committed = base_.account(key)) return *committed;
  exists = false;
  return Account{};
}

PartnerStats BlockExecutor::load_partner(PartnerId id) const {
  if (auto staged = changes_.partners.find(id); staged != changes_.partners.end()) return staged->second;
  const PartnerStats* committed = base_.partner(id);
  PC_CHECK(committed != nullptr);
  return *committed;
}

const IssuanceRecord* BlockExecutor::find_issuance(PartnerId partner,
                                                   const std::string& reference) const {
  if (auto staged = changes_.issuances.find({partner, reference}); staged != changes_.issuances.end()) {
    return &staged->second;
  }
  return base_.issuance(partner, reference);
}

std::uint64_t BlockExecutor::load_settlement(PartnerId issuer, PartnerId redeemer) const {
  if (auto staged = changes_.settlement.find({issuer, redeemer}); staged != changes_.settlement.end()) {
    return staged->second;
  }
  return base_.settlement(issuer, redeemer);
}

void BlockExecutor::expire_lots() {
  const std::uint64_t expiry = base_.expiry_ms();
  if (expiry == 0) return;
  const std::uint64_t now = changes_.context.time_ms;
  for (const auto& [expires_at_ms, key] : base_.expiry_queue_) {
    if (expires_at_ms > now) break;
    bool exists = false;
    Account account = load_account(key, exists);
    auto first_kept = std::find_if(account.lots.begin(), account.lots.end(), [&](const Lot& lot) {
      return lot.earned_at_ms + expiry > now;
    });
    for (auto lot = account.lots.begin(); lot != first_kept; ++lot) {
      PartnerStats stats = load_partner(lot->partner);
      stats.expired += lot->points;
      changes_.partners[lot->partner] = stats;
      changes_.totals.expired += lot->points;
      changes_.totals.balance_sum -= lot->points;
      changes_.events.push_back({Event::Kind::expired, key, lot->partner, lot->points, {}});
    }
    account.lots.erase(account.lots.begin(), first_kept);
    changes_.accounts[key] = std::move(account);
  }
}

Status BlockExecutor::apply(const Transaction& tx, SignatureCheck check) {
  const UnsignedTransaction& fields = tx.fields();
  const BlockContext& context = changes_.context;
  // A Transaction built in memory (not decoded) may hold fields no decoder accepts; a block of
  // them could be committed but never read back, so the executor checks them again.
  if (auto status = validate_fields(fields); !status) return status;
  if (fields.chain_id != base_.genesis().chain_id) {
    return Error{Code::wrong_chain_id, "transaction is for chain " + fields.chain_id};
  }
  if (context.height > fields.last_valid_height) {
    return Error{Code::expired, "last valid at height " + std::to_string(fields.last_valid_height)};
  }
  if (fields.last_valid_height - context.height > tx_validity_blocks_max) {
    return Error{Code::validity_too_long, "last-valid height is more than " +
                                              std::to_string(tx_validity_blocks_max) + " blocks ahead"};
  }
  if (check == SignatureCheck::verify) {
    if (auto status = verify_transaction_signature(base_.genesis(), tx, &base_); !status) return status;
  }
  Status status = std::visit(
      [&](const auto& body) -> Status {
        using Body = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<Body, Issue>) return apply_issue(tx, body);
        if constexpr (std::is_same_v<Body, Redeem>) return apply_redeem(tx, body);
        if constexpr (std::is_same_v<Body, Transfer>) return apply_transfer(tx, body);
        if constexpr (std::is_same_v<Body, Reverse>) return apply_reverse(tx, body);
      },
      fields.body);
  if (status) ++changes_.applied_count;
  return status;
}

// Each apply_* reads copies, checks every rule, and only then writes the copies back into
// changes_: an error returns before the first write, so a failed transaction changes nothing.
// Keys of new accounts were checked by verify_transaction_signature (against base_, which
// knows every account that existed before this block; an account opened earlier in this
// block had its key checked then).

Status BlockExecutor::apply_issue(const Transaction& tx, const Issue& issue) {
  const Partner* partner = base_.genesis().partner(issue.partner);
  if (partner == nullptr) return Error{Code::unknown_partner, "partner " + std::to_string(issue.partner)};
  PartnerStats stats = load_partner(issue.partner);
  if (tx.fields().sequence != stats.issuer_sequence + 1) {
    return sequence_error(stats.issuer_sequence, tx.fields().sequence);
  }
  const Genesis& genesis = base_.genesis();
  const std::uint32_t expiry_days = genesis.policy.point_expiry_days;
  if (refuses_unspendable_issues(genesis.protocol_version) && expiry_days != 0 && issue.pending_days >= expiry_days) {
    return Error{Code::issue_never_spendable, "pending_days " + std::to_string(issue.pending_days) +
                                                  " reaches the point expiry of " + std::to_string(expiry_days) +
                                                  " days: the points would expire before they could be spent"};
  }
  if (find_issuance(issue.partner, issue.reference) != nullptr) {
    return Error{Code::duplicate_reference, "reference " + issue.reference + " was issued before"};
  }
  bool exists = false;
  Account account = load_account(issue.customer, exists);
  Totals totals = changes_.totals;
  if (add_overflows(totals.issued, issue.points) || add_overflows(totals.balance_sum, issue.points)) {
    return Error{Code::overflow, "total points would pass 2^64 - 1"};
  }
  const std::uint64_t cap = base_.genesis().policy.issuance_cap_points;
  if (cap != 0 && stats.outstanding() + issue.points > cap) {
    return Error{Code::cap_exceeded, "partner outstanding would be " +
                                         std::to_string(stats.outstanding() + issue.points) +
                                         ", cap " + std::to_string(cap)};
  }
  const BlockContext& context = changes_.context;
  const IssuanceId id{context.height, changes_.applied_count};
  const std::uint64_t spendable_at_ms = context.time_ms + issue.pending_days * ms_per_day;
  if (!receive_lot(account, Lot{issue.partner, id, issue.points, context.time_ms, spendable_at_ms})) {
    return Error{Code::account_lots_full, "customer already holds the maximum number of lots"};
  }
  // Totals bound every per-partner and per-account counter, so these cannot overflow.
  stats.issuer_sequence += 1;
  stats.issued += issue.points;
  totals.issued += issue.points;
  totals.balance_sum += issue.points;
  if (!exists) totals.accounts += 1;

  changes_.partners[issue.partner] = stats;
  changes_.accounts[issue.customer] = std::move(account);
  changes_.issuances[{issue.partner, issue.reference}] =
      IssuanceRecord{id, issue.customer, issue.points, spendable_at_ms, false, 0, 0};
  changes_.totals = totals;
  changes_.events.push_back({Event::Kind::earned, issue.customer, issue.partner, issue.points, tx.id()});
  return {};
}

Status BlockExecutor::apply_redeem(const Transaction& tx, const Redeem& redeem) {
  if (base_.genesis().partner(redeem.partner) == nullptr) {
    return Error{Code::unknown_partner, "partner " + std::to_string(redeem.partner)};
  }
  bool exists = false;
  Account account = load_account(redeem.customer, exists);
  if (tx.fields().sequence != account.sequence + 1) {
    return sequence_error(account.sequence, tx.fields().sequence);
  }
  const std::uint64_t now = changes_.context.time_ms;
  const std::uint64_t spendable = account.spendable(now);
  if (spendable < redeem.points) return insufficient(spendable, redeem.points);

  std::map<PartnerId, PartnerStats> touched;
  std::map<std::pair<PartnerId, PartnerId>, std::uint64_t> settled;
  std::uint64_t remaining = redeem.points;
  for (Lot& lot : account.lots) {
    if (remaining == 0) break;
    if (lot.spendable_at_ms > now) continue;
    const std::uint64_t taken = std::min(lot.points, remaining);
    lot.points -= taken;
    remaining -= taken;
    if (!touched.contains(lot.partner)) touched[lot.partner] = load_partner(lot.partner);
    touched[lot.partner].issued_redeemed += taken;
    settled[{lot.partner, redeem.partner}] += taken;
  }
  std::erase_if(account.lots, [](const Lot& lot) { return lot.points == 0; });
  if (!touched.contains(redeem.partner)) touched[redeem.partner] = load_partner(redeem.partner);
  touched[redeem.partner].redeemed_at += redeem.points;
  account.sequence += 1;

  for (auto& [id, stats] : touched) changes_.partners[id] = stats;
  for (auto& [key, points] : settled) changes_.settlement[key] = load_settlement(key.first, key.second) + points;
  changes_.accounts[redeem.customer] = std::move(account);
  changes_.totals.redeemed += redeem.points;
  changes_.totals.balance_sum -= redeem.points;
  changes_.events.push_back({Event::Kind::redeemed, redeem.customer, redeem.partner, redeem.points, tx.id()});
  return {};
}

Status BlockExecutor::apply_transfer(const Transaction& tx, const Transfer& transfer) {
  if (!base_.genesis().policy.transfers_allowed) {
    return Error{Code::transfer_not_allowed, "this coalition does not allow transfers"};
  }
  bool from_exists = false;
  Account from = load_account(transfer.from, from_exists);
  if (tx.fields().sequence != from.sequence + 1) return sequence_error(from.sequence, tx.fields().sequence);
  bool to_exists = false;
  Account to = load_account(transfer.to, to_exists);
  const std::uint64_t now = changes_.context.time_ms;
  const std::uint64_t spendable = from.spendable(now);
  if (spendable < transfer.points) return insufficient(spendable, transfer.points);

  std::uint64_t remaining = transfer.points;
  for (Lot& lot : from.lots) {
    if (remaining == 0) break;
    if (lot.spendable_at_ms > now) continue;
    Lot moved = lot;
    moved.points = std::min(lot.points, remaining);
    lot.points -= moved.points;
    remaining -= moved.points;
    if (!receive_lot(to, moved)) {
      return Error{Code::account_lots_full, "recipient already holds the maximum number of lots"};
    }
  }
  std::erase_if(from.lots, [](const Lot& lot) { return lot.points == 0; });
  from.sequence += 1;

  changes_.accounts[transfer.from] = std::move(from);
  changes_.accounts[transfer.to] = std::move(to);
  if (!to_exists) changes_.totals.accounts += 1;
  changes_.events.push_back({Event::Kind::transferred_out, transfer.from, 0, transfer.points, tx.id()});
  changes_.events.push_back({Event::Kind::transferred_in, transfer.to, 0, transfer.points, tx.id()});
  return {};
}

Status BlockExecutor::apply_reverse(const Transaction& tx, const Reverse& reverse) {
  if (base_.genesis().partner(reverse.partner) == nullptr) {
    return Error{Code::unknown_partner, "partner " + std::to_string(reverse.partner)};
  }
  PartnerStats stats = load_partner(reverse.partner);
  if (tx.fields().sequence != stats.issuer_sequence + 1) {
    return sequence_error(stats.issuer_sequence, tx.fields().sequence);
  }
  const IssuanceRecord* found = find_issuance(reverse.partner, reverse.reference);
  if (found == nullptr) {
    return Error{Code::unknown_issuance, "no issuance with reference " + reverse.reference};
  }
  if (found->reversed) return Error{Code::already_reversed, "reference " + reverse.reference};
  IssuanceRecord issuance = *found;
  bool exists = false;
  Account account = load_account(issuance.customer, exists);
  PC_CHECK(exists);

  // Only what is still in the customer's account can be taken back; points already spent or
  // transferred away are recorded as the shortfall rather than charged a second time.
  std::uint64_t removed = 0;
  std::erase_if(account.lots, [&](const Lot& lot) {
    if (lot.issuance != issuance.id) return false;
    removed += lot.points;
    return true;
  });
  PC_CHECK(removed <= issuance.points);
  issuance.reversed = true;
  issuance.reversed_points = removed;
  issuance.shortfall_points = issuance.points - removed;
  stats.issuer_sequence += 1;
  stats.reversed += removed;
  stats.reversal_shortfall += issuance.shortfall_points;

  changes_.partners[reverse.partner] = stats;
  changes_.accounts[issuance.customer] = std::move(account);
  changes_.totals.reversed += removed;
  changes_.totals.balance_sum -= removed;
  changes_.events.push_back({Event::Kind::reversed, issuance.customer, reverse.partner, removed, tx.id()});
  changes_.issuances[{reverse.partner, reverse.reference}] = std::move(issuance);
  return {};
}

BlockChanges BlockExecutor::finish() && {
  std::vector<Record>& records = changes_.records;
  collect_changed(changes_.accounts, records, record::account_key,
                  [](const Account& value) { return record::encode(value); });
  collect_changed(changes_.issuances, records,
                  [](const auto& key) { return record::issuance_key(key.first, key.second); },
                  [](const IssuanceRecord& value) { return record::encode(value); });
  collect_changed(changes_.partners, records, record::partner_key,
                  [](const PartnerStats& value) { return record::encode(value); });
  collect_changed(changes_.settlement, records,
                  [](const auto& key) { return record::settlement_key(key.first, key.second); },
                  record::encode_settlement);
  if (!(changes_.totals == base_.totals())) {
    records.push_back({record::totals_key(), record::encode(changes_.totals)});
  }
  std::sort(records.begin(), records.end(), [](const Record& a, const Record& b) { return a.key < b.key; });
  changes_.changes_digest = record::changes_digest(records);
  changes_.state_hash = record::chain_state_hash(base_.state_hash(), changes_.changes_digest);

  // The supply invariant, checked after every block before anything is written.
  const Totals& totals = changes_.totals;
  PC_CHECK(totals.issued >= totals.redeemed + totals.expired + totals.reversed);
  PC_CHECK(totals.balance_sum == totals.issued - totals.redeemed - totals.expired - totals.reversed);
  return std::move(changes_);
}

}  // namespace pc::ledger
