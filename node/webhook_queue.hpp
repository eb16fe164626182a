// The webhook queue: the events of committed blocks that the partner's endpoints asked for
// (node.json "webhooks"; docs/webhooks.md), kept in a LevelDB (data_dir/webhooks) until an
// endpoint answers 2xx, so deliveries survive a restart. A commit observer fills it; the
// sender (node/webhook_sender.hpp) empties it, one endpoint's events in queue order.
//
// What makes it at-least-once: a block's events and the new cursor (the height whose events
// are queued) are one WriteBatch, and an event leaves its queue only after its endpoint
// answered 2xx. Writes are not synced: after a power cut the queue may be behind the chain,
// and the blocks after the cursor are queued again at the next start, with the same event ids
// (an id is the event's chain position), so receivers de-duplicate by id.
//
// Blocks committed while the queue was not listening (the node ran without webhooks, or a
// write failed) are queued when it next opens or hears of a later block: it reads them from
// the chain store, with the tier changes the store kept beside each block (blocks written by
// a release that kept none have no tier_changed). A new queue, or one of another genesis,
// starts at the chain's tip: the past is not sent.
//
// A full endpoint queue (queue_events_max) drops new events for that endpoint, never queued
// ones; it says so on stderr once per run of drops, and as soon as there is room it queues an
// "events_dropped" event naming how many and the first and last dropped ids.
//
// Layout (integers big-endian in keys so they sort; values little-endian, ledger::Writer):
//   "G"                                  genesis hash
//   "V"                                  format version u32 (webhook_queue_format_version)
//   "C"                                  cursor: the height whose events are queued, u64
//   "Q" | endpoint u64 | sequence u64    type u8 | event id (string) | body (string)
//   "S" | endpoint u64                   next sequence u64 | dropped total u64 | dropped
//                                        since the last notice u64 | first and last dropped id
//                                        (strings) | time of the last drop u64
//   "X" | due ms u64 | height u64 | index u32
//                                        an issuance to check for points_expiring:
//                                        customer (32) | expires at ms u64 | reference (string)
// endpoint: the first 8 bytes of SHA-256 of the endpoint's URL. Queues of endpoints no longer
// configured are deleted at open.
//
// Thread-safety: block_committed() runs on the node's writer thread (and the constructor
// before it starts); front(), delivered() and status() on any thread.
#pragma once

#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "ledger/store.hpp"
#include "node/commit_observer.hpp"
#include "node/webhook_config.hpp"

namespace leveldb {
class DB;
class WriteBatch;
}

namespace pc::node {

inline constexpr std::uint32_t webhook_queue_format_version = 1;

// One event waiting for one endpoint. Every attempt sends `body` byte for byte.
struct WebhookDelivery {
  std::size_t endpoint = 0;    // index into WebhookSettings::endpoints
  std::uint64_t sequence = 0;  // its place in the endpoint's queue
  WebhookEventType type = WebhookEventType::earn;
  std::string event_id;
  std::string body;
};

class WebhookQueue final : public CommitObserver {
 public:
  // Opens (creating) `directory` for `partner`'s endpoints in `settings`, then queues the
  // events of the blocks of `chain` after the cursor. Throws std::runtime_error when it
  // cannot open or write the database, or it is of another format version. `chain` must
  // outlive the queue; its state is read on the writer thread only.
  WebhookQueue(const std::filesystem::path& directory, const ledger::ChainStore& chain, ledger::PartnerId partner,
               const WebhookSettings& settings);
  ~WebhookQueue() override;
  WebhookQueue(const WebhookQueue&) = delete;
  WebhookQueue& operator=(const WebhookQueue&) = delete;

  // Writer thread. Queues the events of every block from the cursor to this one (read from
  // the chain store when there is a gap). A failed write is printed; the blocks stay after the
  // cursor and are queued with the next block or at the next start.
  void block_committed(const CommittedBlock& block) override;

  // The oldest event waiting for `endpoint`, if any.
  std::optional<WebhookDelivery> front(std::size_t endpoint) const;
  // Removes a delivered event (its endpoint answered 2xx). False when it could not be written
  // (it will then be delivered again).
  bool delivered(const WebhookDelivery& delivery);

  // Called (on the writer thread) after events were queued; the sender wakes its endpoints.
  // nullptr: none. The function must not call back into the queue.
  void set_wake(std::function<void()> wake);

  std::uint64_t cursor_height() const { return cursor_height_.load(); }
  std::vector<WebhookEndpointStatus> status() const;

 private:
  struct EndpointState;
  void open_database(const std::filesystem::path& directory);
  void load_endpoints();
  // Queues the blocks after the cursor up to `height`, read from the chain store. Throws
  // std::runtime_error when one cannot be read or written.
  void catch_up(std::uint64_t height);
  // Queues one block's events with the cursor at its height, reading the state as it is now
  // (the tip: the block itself, or later when catching up). `tier_changes` are the block's
  // (CommittedBlock::tier_changes); nullptr when catching up, since the store keeps blocks and
  // state but not what executing a block changed. Throws when the write fails.
  void queue_block(const ledger::Block& block, const ledger::Hash256& block_hash,
                   const std::vector<ledger::TierChange>* tier_changes);
  // Puts one event into the queues of the endpoints that want it (or counts it dropped).
  void put_event(leveldb::WriteBatch& batch, WebhookEventType type, const std::string& id, const std::string& body,
                 std::uint64_t time_ms);
  // Queues an events_dropped notice for `endpoint` if it dropped events and now has room.
  void put_drop_notice(leveldb::WriteBatch& batch, EndpointState& endpoint);
  void write(leveldb::WriteBatch& batch);

  const ledger::ChainStore& chain_;
  const ledger::PartnerId partner_;
  const WebhookSettings settings_;
  const bool watch_expiry_;  // some endpoint wants points_expiring and points can expire
  std::unique_ptr<leveldb::DB> db_;
  std::atomic<std::uint64_t> cursor_height_ = 0;

  mutable std::mutex mutex_;
  std::vector<EndpointState> endpoints_;  // guarded by mutex_; in settings' order
  std::function<void()> wake_;            // guarded by mutex_
};

}  // namespace pc::node
