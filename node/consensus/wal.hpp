// The consensus write-ahead log: the events the engine acts on are appended here, as one
// record before each signature, so a validator that restarts in the middle of a height
// replays the height's events and resumes where it stopped, holding every lock it signed on
// (its votes are then re-signed identically, which the signer guard allows). Records are
// opaque bytes the engine encodes.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "crypto/bytes.hpp"

namespace pc::consensus {

class WriteAheadLog {
 public:
  virtual ~WriteAheadLog() = default;
  // Appends a record of `height`; it is durable when append returns. The node's file-backed
  // log syncs each record with a checksum, and on reading drops a torn last record.
  virtual void append(std::uint64_t height, ByteSpan record) = 0;
  // The records of `height`, in append order. Each is one the engine can replay
  // (consensus::check_log_record): a log that reads records back from storage checks them.
  virtual std::vector<Bytes> records(std::uint64_t height) const = 0;
  // Records of heights below `height` are no longer needed (that height is committed).
  virtual void drop_below(std::uint64_t height) = 0;
};

// Keeps records in memory. A simulated crash keeps the object, so it models a synced file.
class MemoryWriteAheadLog final : public WriteAheadLog {
 public:
  void append(std::uint64_t height, ByteSpan record) override {
    records_[height].emplace_back(record.begin(), record.end());
  }
  std::vector<Bytes> records(std::uint64_t height) const override {
    auto found = records_.find(height);
    return found == records_.end() ? std::vector<Bytes>{} : found->second;
  }
  void drop_below(std::uint64_t height) override { records_.erase(records_.begin(), records_.lower_bound(height)); }

 private:
  std::map<std::uint64_t, std::vector<Bytes>> records_;
};

}  // namespace pc::consensus
