#include "node/webhook_queue.hpp"

#include <leveldb/db.h>
#include <leveldb/write_batch.h>

#include <cstdio>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>

#include "crypto/address.hpp"
#include "crypto/check.hpp"
#include "crypto/hash.hpp"
#include "ledger/codec.hpp"
#include "ledger/voucher.hpp"
#include "node/analytics_report.hpp"
#include "node/derived_index.hpp"

namespace pc::node {
namespace {

using ledger::append_big_endian;
using ledger::read_big_endian;
using OrderedJson = nlohmann::ordered_json;

const std::string genesis_key = "G";
const std::string version_key = "V";
const std::string cursor_key = "C";
constexpr char queue_prefix = 'Q';
constexpr char state_prefix = 'S';
constexpr char watch_prefix = 'X';
// Bounds on what the queue reads back: ids are made here, bodies are a few hundred bytes.
constexpr std::size_t event_id_bytes_max = 128;
constexpr std::size_t event_body_bytes_max = 64 * 1024;
constexpr std::size_t reference_bytes_max = 1024;

std::string u64_value(std::uint64_t value) {
  std::string out;
  append_big_endian(out, value, 8);
  return out;
}

std::uint64_t endpoint_key(const std::string& url) {
  const crypto::Hash256 hash = crypto::sha256(as_bytes(url));
  return read_big_endian(std::string_view(reinterpret_cast<const char*>(hash.data()), 8));
}

std::string queue_key_prefix(std::uint64_t endpoint) {
  std::string key(1, queue_prefix);
  append_big_endian(key, endpoint, 8);
  return key;
}

std::string queue_key(std::uint64_t endpoint, std::uint64_t sequence) {
  std::string key = queue_key_prefix(endpoint);
  append_big_endian(key, sequence, 8);
  return key;
}

std::string state_key(std::uint64_t endpoint) {
  std::string key(1, state_prefix);
  append_big_endian(key, endpoint, 8);
  return key;
}

std::string watch_key(std::uint64_t due_ms, const ledger::IssuanceId& issuance) {
  std::string key(1, watch_prefix);
  append_big_endian(key, due_ms, 8);
  append_big_endian(key, issuance.height, 8);
  append_big_endian(key, issuance.index, 4);
  return key;
}

std::string to_string(const ledger::Writer& out) { return std::string(out.view().begin(), out.view().end()); }

// "2026-11-29T23:00:00.000Z": block time in UTC.
std::string iso_time(std::uint64_t time_ms) {
  const std::uint64_t in_day_ms = time_ms % ms_per_utc_day;
  char clock[32];
  std::snprintf(clock, sizeof clock, "T%02u:%02u:%02u.%03uZ", static_cast<unsigned>(in_day_ms / 3'600'000),
                static_cast<unsigned>(in_day_ms / 60'000 % 60), static_cast<unsigned>(in_day_ms / 1'000 % 60),
                static_cast<unsigned>(in_day_ms % 1'000));
  return iso_date(day_of_ms(time_ms)) + clock;
}

std::string hex(const ledger::Hash256& hash) { return to_hex(ByteSpan(hash.data(), hash.size())); }

// An event's id: its chain position and type, the same however often it is queued.
std::string chain_event_id(std::uint64_t height, std::uint32_t index, WebhookEventType type) {
  return std::to_string(height) + "." + std::to_string(index) + "." + std::string(webhook_event_name(type));
}

OrderedJson envelope(const std::string& id, WebhookEventType type, std::uint64_t time_ms, const std::string& chain_id,
                     ledger::PartnerId partner) {
  OrderedJson body;
  body["id"] = id;
  body["type"] = webhook_event_name(type);
  body["timestamp"] = iso_time(time_ms);
  body["time_ms"] = time_ms;
  body["chain_id"] = chain_id;
  body["partner"] = partner;
  return body;
}

}  // namespace

struct WebhookQueue::EndpointState {
  std::uint64_t key = 0;
  std::size_t queued = 0;
  std::uint64_t next_sequence = 1;
  std::uint64_t dropped_total = 0;
  std::uint64_t dropped_pending = 0;  // since the last events_dropped notice
  std::string first_dropped_id;
  std::string last_dropped_id;
  std::uint64_t last_dropped_ms = 0;

  std::string encode() const {
    ledger::Writer out;
    out.u64(next_sequence);
    out.u64(dropped_total);
    out.u64(dropped_pending);
    out.string(first_dropped_id);
    out.string(last_dropped_id);
    out.u64(last_dropped_ms);
    return to_string(out);
  }
  bool decode(std::string_view value) {
    ledger::Reader in(as_bytes(value));
    next_sequence = in.u64();
    dropped_total = in.u64();
    dropped_pending = in.u64();
    first_dropped_id = in.string(event_id_bytes_max, "first dropped id");
    last_dropped_id = in.string(event_id_bytes_max, "last dropped id");
    last_dropped_ms = in.u64();
    return in.finish().ok();
  }
};

WebhookQueue::WebhookQueue(const std::filesystem::path& directory, const ledger::ChainStore& chain,
                           ledger::PartnerId partner, const WebhookSettings& settings)
    : chain_(chain),
      partner_(partner),
      settings_(settings),
      watch_expiry_(chain.genesis().policy.point_expiry_days > 0 && [&] {
        for (const WebhookEndpoint& endpoint : settings.endpoints) {
          if (endpoint.events.contains(WebhookEventType::points_expiring)) return true;
        }
        return false;
      }()) {
  open_database(directory);
  const ledger::Hash256 genesis_hash = chain.genesis().hash();
  const std::string genesis_value(genesis_hash.begin(), genesis_hash.end());
  leveldb::ReadOptions read;
  read.verify_checksums = true;
  std::string stored_genesis;
  const bool found = db_->Get(read, genesis_key, &stored_genesis).ok();
  if (found && stored_genesis != genesis_value) {
    std::cerr << "pointchain-node: the webhook queue " << directory.string()
              << " is of another chain; starting a new one at the tip\n";
    db_.reset();
    std::filesystem::remove_all(directory);
    open_database(directory);
  }
  if (!found || stored_genesis != genesis_value) {
    leveldb::WriteBatch batch;
    batch.Put(genesis_key, genesis_value);
    ledger::Writer version;
    version.u32(webhook_queue_format_version);
    batch.Put(version_key, to_string(version));
    batch.Put(cursor_key, u64_value(chain.tip().height));
    write(batch);
  }
  std::string stored_version;
  std::string stored_cursor;
  if (!db_->Get(read, version_key, &stored_version).ok() || stored_version.size() != 4 ||
      !db_->Get(read, cursor_key, &stored_cursor).ok() || stored_cursor.size() != 8) {
    throw std::runtime_error("the webhook queue " + directory.string() + " is damaged (no version or cursor)");
  }
  ledger::Reader version_reader(as_bytes(stored_version));
  if (const std::uint32_t version = version_reader.u32(); version != webhook_queue_format_version) {
    throw std::runtime_error("the webhook queue " + directory.string() + " is of format version " +
                             std::to_string(version) + "; this node reads version " +
                             std::to_string(webhook_queue_format_version));
  }
  cursor_height_ = read_big_endian(stored_cursor);
  load_endpoints();
  if (cursor_height_ > chain.tip().height) {
    // Only after `run --accept-lost-blocks`: the events of the lost blocks stay queued.
    std::cerr << "pointchain-node: the webhook queue had reached height " << cursor_height_
              << ", above the chain's " << chain.tip().height << "; it goes on from the chain's tip\n";
    leveldb::WriteBatch batch;
    batch.Put(cursor_key, u64_value(chain.tip().height));
    write(batch);
    cursor_height_ = chain.tip().height;
  }
  catch_up(chain.tip().height);
}

WebhookQueue::~WebhookQueue() = default;

void WebhookQueue::open_database(const std::filesystem::path& directory) {
  db_ = open_derived_index(directory, "webhook queue");
}

void WebhookQueue::load_endpoints() {
  leveldb::ReadOptions read;
  read.verify_checksums = true;
  std::set<std::uint64_t> configured;
  for (const WebhookEndpoint& endpoint : settings_.endpoints) {
    EndpointState state;
    state.key = endpoint_key(endpoint.url);
    configured.insert(state.key);
    std::string value;
    if (db_->Get(read, state_key(state.key), &value).ok() && !state.decode(value)) {
      throw std::runtime_error("the webhook queue's record of " + endpoint.url + " is damaged");
    }
    const std::string prefix = queue_key_prefix(state.key);
    std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(read));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) ++state.queued;
    endpoints_.push_back(std::move(state));
  }
  // Endpoints no longer in node.json: their queues go.
  leveldb::WriteBatch batch;
  std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(read));
  for (it->Seek(std::string(1, state_prefix)); it->Valid() && it->key().starts_with(std::string(1, state_prefix));
       it->Next()) {
    if (it->key().size() != 9) continue;
    const std::uint64_t key = read_big_endian(std::string_view(it->key().data() + 1, 8));
    if (configured.contains(key)) continue;
    batch.Delete(it->key());
    std::size_t removed = 0;
    const std::string prefix = queue_key_prefix(key);
    std::unique_ptr<leveldb::Iterator> queued(db_->NewIterator(read));
    for (queued->Seek(prefix); queued->Valid() && queued->key().starts_with(prefix); queued->Next()) {
      batch.Delete(queued->key());
      ++removed;
    }
    std::cerr << "pointchain-node: webhook queue: dropped " << removed
              << " undelivered events of an endpoint no longer in node.json\n";
  }
  write(batch);
}

void WebhookQueue::write(leveldb::WriteBatch& batch) {
  // Not synced: the header says why at-least-once holds without it.
  if (auto status = db_->Write(leveldb::WriteOptions(), &batch); !status.ok()) {
    throw std::runtime_error("cannot write the webhook queue: " + status.ToString());
  }
}

void WebhookQueue::catch_up(std::uint64_t height) {
  while (cursor_height_ < height) {
    auto block = chain_.block_at(cursor_height_ + 1);
    if (!block) throw std::runtime_error("webhook queue: " + block.error().message());
    const ledger::Hash256 block_hash = block->header.hash();
    // Execution's tier changes, as the store kept them. Unknown (nullptr: no tier_changed) for
    // a block written by a release that kept none, and for a damaged record: a derived record
    // does not stop the block's other events, nor the queue.
    auto tier_changes = chain_.tier_changes_at(cursor_height_ + 1);
    if (!tier_changes) {
      std::cerr << "pointchain-node: webhook queue: no tier_changed for block " << cursor_height_ + 1 << ": "
                << tier_changes.error().message() << "\n";
    }
    const bool known = tier_changes && tier_changes->has_value();
    queue_block(*block, block_hash, known ? &**tier_changes : nullptr);
  }
}

void WebhookQueue::block_committed(const CommittedBlock& block) {
  const std::uint64_t height = block.block.header.height;
  if (height <= cursor_height_) return;
  try {
    catch_up(height - 1);
    queue_block(block.block, block.block_hash, &block.tier_changes);
  } catch (const std::runtime_error& error) {
    std::cerr << "pointchain-node: " << error.what() << " (queued with the next block or at the next start)\n";
  }
}

void WebhookQueue::queue_block(const ledger::Block& block, const ledger::Hash256& block_hash,
                               const std::vector<ledger::TierChange>* tier_changes) {
  const std::uint64_t height = block.header.height;
  PC_CHECK(height == cursor_height_ + 1);
  const std::uint64_t time_ms = block.header.time_ms;
  const ledger::State& state = chain_.state();
  const std::string& chain_id = chain_.genesis().chain_id;
  const std::uint64_t expiry_ms = std::uint64_t{chain_.genesis().policy.point_expiry_days} * ms_per_utc_day;
  const std::uint64_t notice_ms = std::uint64_t{settings_.expiring_notice_days} * ms_per_utc_day;

  leveldb::WriteBatch batch;
  bool queued_any = false;
  std::unique_lock lock(mutex_);
  // `id_suffix` tells apart several events of one type from one transaction (its badges).
  const auto put = [&](WebhookEventType type, const ledger::Transaction& tx, std::uint32_t index,
                       OrderedJson data, const std::string& id_suffix = {}) {
    const std::string id = chain_event_id(height, index, type) + id_suffix;
    OrderedJson event = envelope(id, type, time_ms, chain_id, partner_);
    data["height"] = height;
    data["index"] = index;
    data["tx_id"] = hex(tx.id());
    data["block_id"] = hex(block_hash);
    event["data"] = std::move(data);
    put_event(batch, type, id, event.dump(), time_ms);
    queued_any = true;
  };
  // What returns took back from one of this partner's issuances, as of the tip.
  const auto put_issuance_outcome = [&](OrderedJson& data, const std::string& reference) {
    if (const ledger::IssuanceRecord* record = state.issuance(partner_, reference)) {
      data["customer"] = crypto::encode_address(record->customer);
      data["issued_points"] = record->points;
      data["reversed_points"] = record->reversed_points;
      data["shortfall_points"] = record->shortfall_points;
    }
  };
  // The badges of this partner that the transaction at `index` gave `customer`: a badge's
  // record names the block and position that gave it and never changes after, so the tip's
  // state tells, however far behind the queue is.
  const auto put_badges_earned = [&](const ledger::Transaction& tx, std::uint32_t index, const crypto::PublicKey& customer) {
    const auto& badges = state.stamps_and_badges().badges;
    for (auto it = badges.lower_bound({partner_, 0}); it != badges.end() && it->first.first == partner_; ++it) {
      const ledger::BadgeProgress* progress = state.badge_progress(partner_, it->first.second, customer);
      if (progress == nullptr || progress->earned_height != height || progress->earned_index != index) continue;
      OrderedJson data;
      data["customer"] = crypto::encode_address(customer);
      data["badge_id"] = it->first.second;
      data["badge_name"] = it->second.terms.name;
      data["earned_at_ms"] = progress->earned_at_ms;
      // Appended, not "." + ...: GCC 12 -O3 reports a false -Wrestrict on a literal + temporary.
      std::string badge_suffix = ".";
      badge_suffix += std::to_string(it->first.second);
      put(WebhookEventType::badge_earned, tx, index, std::move(data), badge_suffix);
    }
  };
  for (std::size_t position = 0; position < block.transactions.size(); ++position) {
    const ledger::Transaction& tx = block.transactions[position];
    const auto index = static_cast<std::uint32_t>(position);
    const ledger::TxBody& body = tx.fields().body;
    if (const auto* issue = std::get_if<ledger::Issue>(&body); issue != nullptr && issue->partner == partner_) {
      OrderedJson data;
      data["customer"] = crypto::encode_address(issue->customer);
      data["points"] = issue->points;
      data["reason"] = ledger::reason_name(issue->reason);
      data["reference"] = issue->reference;
      data["pending_days"] = issue->pending_days;
      if (issue->purchase) {
        data["purchase"] = {{"amount_minor", issue->purchase->amount_minor}, {"currency", issue->purchase->currency}};
      }
      put(WebhookEventType::earn, tx, index, std::move(data));
      if (watch_expiry_) {
        // The lot expires at its block time plus the policy's period (ledger/state.cpp).
        const std::uint64_t expires_ms = time_ms + expiry_ms;
        const std::uint64_t due_ms = expires_ms - std::min(notice_ms, expiry_ms);
        ledger::Writer watch;
        watch.raw(ByteSpan(issue->customer.data(), issue->customer.size()));
        watch.u64(expires_ms);
        watch.string(issue->reference);
        batch.Put(watch_key(due_ms, {height, index}), to_string(watch));
      }
    } else if (const auto* redeem = std::get_if<ledger::Redeem>(&body);
               redeem != nullptr && redeem->partner == partner_) {
      OrderedJson data;
      data["customer"] = crypto::encode_address(redeem->customer);
      data["points"] = redeem->points;
      data["reward"] = redeem->reward;
      put(WebhookEventType::redemption, tx, index, std::move(data));
    } else if (const auto* reverse = std::get_if<ledger::Reverse>(&body);
               reverse != nullptr && reverse->partner == partner_) {
      OrderedJson data;
      data["reference"] = reverse->reference;
      // The record is final once reversed, so the tip's state tells what this Reverse did.
      put_issuance_outcome(data, reverse->reference);
      put(WebhookEventType::return_purchase, tx, index, std::move(data));
    } else if (const auto* redeem_reward = std::get_if<ledger::RedeemReward>(&body);
               redeem_reward != nullptr && redeem_reward->partner == partner_) {
      OrderedJson data;
      data["customer"] = crypto::encode_address(redeem_reward->customer);
      data["reward_id"] = redeem_reward->reward_id;
      data["quantity"] = redeem_reward->quantity;
      // The codes are derived from the redemption (ledger/voucher.hpp), as the wallet prints them.
      OrderedJson codes = OrderedJson::array();
      for (std::uint16_t unit = 0; unit < redeem_reward->quantity; ++unit) {
        codes.push_back(ledger::format_voucher_code(ledger::voucher_code(tx.id(), unit)));
      }
      data["vouchers"] = std::move(codes);
      put(WebhookEventType::redemption, tx, index, std::move(data));
    } else if (const auto* pay = std::get_if<ledger::PayWithPoints>(&body);
               pay != nullptr && pay->request.request.partner == partner_) {
      // A payment with points at this partner's till is a redemption there, with its money value.
      const ledger::PaymentRequest& request = pay->request.request;
      OrderedJson data;
      data["customer"] = crypto::encode_address(pay->customer);
      data["points"] = request.points;
      data["payment_request"] = hex(request.id());
      data["order_id"] = request.order_id;
      data["amount_minor"] = request.amount_minor;
      data["currency"] = request.currency;
      put(WebhookEventType::redemption, tx, index, std::move(data));
    } else if (const auto* use = std::get_if<ledger::UseVoucher>(&body); use != nullptr && use->partner == partner_) {
      OrderedJson data;
      data["voucher"] = ledger::format_voucher_code(use->code);
      // A voucher record is never deleted and a used one never changes again.
      if (const ledger::Voucher* voucher = state.voucher(partner_, use->code)) {
        data["customer"] = crypto::encode_address(voucher->customer);
        data["reward_id"] = voucher->reward_id;
      }
      put(WebhookEventType::voucher_used, tx, index, std::move(data));
    } else if (const auto* partial = std::get_if<ledger::PartialReturn>(&body);
               partial != nullptr && partial->partner == partner_) {
      OrderedJson data;
      data["reference"] = partial->reference;
      data["returned_amount_minor"] = partial->amount_minor;
      put_issuance_outcome(data, partial->reference);
      put(WebhookEventType::return_purchase, tx, index, std::move(data));
    }
    // After the transaction's own event: the earn comes before the badge it gave.
    if (const auto* issue = std::get_if<ledger::Issue>(&body); issue != nullptr && issue->partner == partner_) {
      put_badges_earned(tx, index, issue->customer);
    } else if (const auto* award = std::get_if<ledger::AwardBadge>(&body); award != nullptr && award->partner == partner_) {
      put_badges_earned(tx, index, award->customer);
    }
  }

  // tier_changed: a tier is coalition-wide (every partner's till applies it), so every partner
  // hears of every change, whichever partner's transaction or the passing of time caused it.
  if (tier_changes != nullptr) {
    const ledger::TierProgram& program = chain_.genesis().policy.tiers;
    std::size_t by_time = 0;
    for (const ledger::TierChange& change : *tier_changes) {
      OrderedJson data;
      data["customer"] = crypto::encode_address(change.customer);
      data["direction"] = change.upgraded() ? "upgraded" : "downgraded";
      data["from_tier"] = change.from_tier;
      data["from_tier_name"] = program.tier_name(change.from_tier);
      data["to_tier"] = change.to_tier;
      data["to_tier_name"] = program.tier_name(change.to_tier);
      data["height"] = height;
      data["block_id"] = hex(block_hash);
      std::string id;
      if (change.tx_id == ledger::Hash256{}) {
        // A qualification or a grant ended at the block's start: no transaction caused it.
        id = std::to_string(height) + ".start-" + std::to_string(by_time++) + "." +
             std::string(webhook_event_name(WebhookEventType::tier_changed));
        data["cause"] = "time";
        data["partner"] = nullptr;
      } else {
        std::uint32_t index = 0;
        while (index < block.transactions.size() && block.transactions[index].id() != change.tx_id) ++index;
        PC_CHECK(index < block.transactions.size());
        id = chain_event_id(height, index, WebhookEventType::tier_changed);
        data["cause"] = std::holds_alternative<ledger::GrantTier>(block.transactions[index].fields().body) ? "grant" : "earn";
        data["partner"] = change.partner;
        data["index"] = index;
        data["tx_id"] = hex(change.tx_id);
      }
      OrderedJson event = envelope(id, WebhookEventType::tier_changed, time_ms, chain_id, partner_);
      event["data"] = std::move(data);
      put_event(batch, WebhookEventType::tier_changed, id, event.dump(), time_ms);
      queued_any = true;
    }
  }

  // points_expiring: issuances whose notice falls due by this block's time, with the points
  // of that lot the customer still holds (at the tip: now, or later when catching up).
  if (watch_expiry_) {
    leveldb::ReadOptions read;
    read.verify_checksums = true;
    std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(read));
    const std::string prefix(1, watch_prefix);
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      const std::string_view key(it->key().data(), it->key().size());
      if (key.size() != 1 + 8 + 8 + 4) continue;
      const std::uint64_t due_ms = read_big_endian(key.substr(1, 8));
      if (due_ms > time_ms) break;
      batch.Delete(it->key());
      const ledger::IssuanceId issuance{read_big_endian(key.substr(9, 8)),
                                        static_cast<std::uint32_t>(read_big_endian(key.substr(17, 4)))};
      ledger::Reader in(as_bytes(std::string_view(it->value().data(), it->value().size())));
      const auto customer = in.fixed<32>();
      const std::uint64_t expires_ms = in.u64();
      const std::string reference = in.string(reference_bytes_max, "reference");
      if (!in.finish().ok()) continue;
      std::uint64_t points = 0;
      if (const ledger::Account* account = state.account(customer)) {
        for (const ledger::Lot& lot : account->lots) {
          if (lot.partner == partner_ && lot.issuance == issuance) points += lot.points;
        }
      }
      if (points == 0 || expires_ms <= time_ms) continue;  // spent, moved or expired already
      const std::string id = chain_event_id(issuance.height, issuance.index, WebhookEventType::points_expiring);
      OrderedJson event = envelope(id, WebhookEventType::points_expiring, time_ms, chain_id, partner_);
      OrderedJson data;
      data["customer"] = crypto::encode_address(customer);
      data["points"] = points;
      data["expires_at"] = iso_time(expires_ms);
      data["expires_at_ms"] = expires_ms;
      data["issuance"] = {{"height", issuance.height}, {"index", issuance.index}, {"reference", reference}};
      event["data"] = std::move(data);
      put_event(batch, WebhookEventType::points_expiring, id, event.dump(), time_ms);
      queued_any = true;
    }
  }

  batch.Put(cursor_key, u64_value(height));
  // The endpoints' in-memory state changes only once the batch is written.
  const std::vector<EndpointState> before = endpoints_;
  try {
    write(batch);
  } catch (const std::runtime_error&) {
    endpoints_ = before;
    throw;
  }
  cursor_height_ = height;
  if (queued_any && wake_) wake_();
}

void WebhookQueue::put_event(leveldb::WriteBatch& batch, WebhookEventType type, const std::string& id,
                             const std::string& body, std::uint64_t time_ms) {
  PC_CHECK(id.size() <= event_id_bytes_max && body.size() <= event_body_bytes_max);
  for (std::size_t i = 0; i < settings_.endpoints.size(); ++i) {
    if (!settings_.endpoints[i].events.contains(type)) continue;
    EndpointState& endpoint = endpoints_[i];
    put_drop_notice(batch, endpoint);
    if (endpoint.queued >= settings_.endpoints[i].queue_events_max) {
      if (endpoint.dropped_pending == 0) {
        endpoint.first_dropped_id = id;
        std::cerr << "pointchain-node: webhook queue of " << settings_.endpoints[i].url << " is full ("
                  << settings_.endpoints[i].queue_events_max << " events): dropping new events from " << id
                  << " until it has room; an events_dropped event will say how many\n";
      }
      ++endpoint.dropped_pending;
      ++endpoint.dropped_total;
      endpoint.last_dropped_id = id;
      endpoint.last_dropped_ms = time_ms;
      batch.Put(state_key(endpoint.key), endpoint.encode());
      continue;
    }
    ledger::Writer value;
    value.u8(static_cast<std::uint8_t>(type));
    value.string(id);
    value.string(body);
    batch.Put(queue_key(endpoint.key, endpoint.next_sequence), to_string(value));
    ++endpoint.next_sequence;
    ++endpoint.queued;
    batch.Put(state_key(endpoint.key), endpoint.encode());
  }
}

void WebhookQueue::put_drop_notice(leveldb::WriteBatch& batch, EndpointState& endpoint) {
  const std::size_t index = static_cast<std::size_t>(&endpoint - endpoints_.data());
  if (endpoint.dropped_pending == 0 || endpoint.queued >= settings_.endpoints[index].queue_events_max) return;
  const std::string id = "events_dropped." + std::to_string(endpoint.next_sequence);
  OrderedJson event = envelope(id, WebhookEventType::events_dropped, endpoint.last_dropped_ms,
                               chain_.genesis().chain_id, partner_);
  event["data"] = {{"count", endpoint.dropped_pending},
                   {"first_id", endpoint.first_dropped_id},
                   {"last_id", endpoint.last_dropped_id}};
  ledger::Writer value;
  value.u8(static_cast<std::uint8_t>(WebhookEventType::events_dropped));
  value.string(id);
  value.string(event.dump());
  batch.Put(queue_key(endpoint.key, endpoint.next_sequence), to_string(value));
  ++endpoint.next_sequence;
  ++endpoint.queued;
  endpoint.dropped_pending = 0;
  endpoint.first_dropped_id.clear();
  endpoint.last_dropped_id.clear();
  batch.Put(state_key(endpoint.key), endpoint.encode());
}

std::optional<WebhookDelivery> WebhookQueue::front(std::size_t endpoint) const {
  PC_CHECK(endpoint < settings_.endpoints.size());
  std::uint64_t key = 0;
  {
    std::lock_guard lock(mutex_);
    key = endpoints_[endpoint].key;
  }
  leveldb::ReadOptions read;
  read.verify_checksums = true;
  std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(read));
  const std::string prefix = queue_key_prefix(key);
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    if (it->key().size() != prefix.size() + 8) continue;
    WebhookDelivery delivery;
    delivery.endpoint = endpoint;
    delivery.sequence = read_big_endian(std::string_view(it->key().data() + prefix.size(), 8));
    ledger::Reader in(as_bytes(std::string_view(it->value().data(), it->value().size())));
    const std::uint8_t type = in.u8();
    delivery.event_id = in.string(event_id_bytes_max, "event id");
    delivery.body = in.string(event_body_bytes_max, "event body");
    if (!in.finish().ok() || type < 1 || type > webhook_event_type_max) {
      std::cerr << "pointchain-node: webhook queue: a damaged entry is skipped\n";
      continue;
    }
    delivery.type = static_cast<WebhookEventType>(type);
    return delivery;
  }
  return std::nullopt;
}

bool WebhookQueue::delivered(const WebhookDelivery& delivery) {
  std::lock_guard lock(mutex_);
  EndpointState& endpoint = endpoints_.at(delivery.endpoint);
  const EndpointState before = endpoint;
  leveldb::WriteBatch batch;
  batch.Delete(queue_key(endpoint.key, delivery.sequence));
  PC_CHECK(endpoint.queued > 0);
  --endpoint.queued;
  put_drop_notice(batch, endpoint);
  if (auto status = db_->Write(leveldb::WriteOptions(), &batch); !status.ok()) {
    endpoint = before;
    std::cerr << "pointchain-node: cannot write the webhook queue: " << status.ToString() << "\n";
    return false;
  }
  return true;
}

void WebhookQueue::set_wake(std::function<void()> wake) {
  std::lock_guard lock(mutex_);
  wake_ = std::move(wake);
}

std::vector<WebhookEndpointStatus> WebhookQueue::status() const {
  std::lock_guard lock(mutex_);
  std::vector<WebhookEndpointStatus> out;
  for (std::size_t i = 0; i < endpoints_.size(); ++i) {
    out.push_back({settings_.endpoints[i].url, endpoints_[i].queued, endpoints_[i].dropped_total});
  }
  return out;
}

}  // namespace pc::node
