// The consensus engine's two stores as synced files in the data dir (docs/consensus.md,
// "Persistence", has the byte layouts and what an operator does when one is damaged):
//
//   data_dir/consensus/wal/<height, 20 digits>.wal   FileWriteAheadLog, one file per height
//   data_dir/consensus/signer-state                  FileSignerStateStore, one 54-byte record
//
// Both are opened once at start-up by open_consensus_files(). Damage that a crash cannot
// cause is a typed error there (corruption), and the node refuses to start rather than guess:
// a guess could make a validator sign twice. A failed write later (a full disk, an I/O error)
// throws ConsensusStorageError out of append() or store(), since those interfaces return
// nothing: the driver must stop consensus, as the commit pipeline stops after a failed block
// write, because a vote that was not made durable must not leave the process.
//
// Thread-safety: none. The node's writer thread owns both. (The log deletes the files of
// finished heights on a thread of its own, which touches nothing else.)
#pragma once

#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "ledger/errors.hpp"
#include "ledger/limits.hpp"
#include "node/consensus/consensus.hpp"
#include "node/consensus/signer.hpp"
#include "node/consensus/wal.hpp"

namespace pc::node {

// A write or sync of a consensus file failed after start-up. Nothing signed after it may
// leave the process: stop the engine (and restart the node once the disk is fixed).
class ConsensusStorageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78, initial value and final xor
// 0xFFFFFFFF), the checksum of each log record and of the signer record. crc32c("123456789")
// is 0xE3069283. It uses the CPU's crc32 instruction (SSE4.2) where there is one, checked at
// run time: a proposal's record is up to a megabyte, checksummed by the writer thread.
std::uint32_t crc32c(ByteSpan bytes);
// The CRC-32C of a message whose first part has CRC-32C `crc` and whose rest is `bytes`:
// crc32c_extend(crc32c(a), b) == crc32c(a followed by b), and crc32c(b) == crc32c_extend(0, b).
std::uint32_t crc32c_extend(std::uint32_t crc, ByteSpan bytes);
// The same checksum one table lookup per byte, on any CPU: the reference the tests hold the
// instruction's results to.
std::uint32_t crc32c_bytewise(ByteSpan bytes);

// One record holds the engine's events since its last record (at most a proposal with its block).
inline constexpr std::size_t wal_record_bytes_max = consensus::log_record_bytes_max;
// Bytes of records kept for one height. A height's log is the events of its rounds; without
// a bound, peers flooding distinct valid messages would fill the disk. Beyond it a record is
// not written (append still returns): a restart of that height replays only what was kept
// and learns the rest again from the peers' rebroadcasts. Safety does not depend on the log:
// the signer state alone keeps the validator from signing anything that conflicts.
inline constexpr std::uint64_t wal_height_bytes_max = 64 * 1024 * 1024;
// Frame of one record: length (u32 LE) then CRC-32C (u32 LE) of the length's 4 bytes and the record.
inline constexpr std::size_t wal_frame_header_bytes = 8;
// Heights whose log files append creates at once, the new height and those after it, with
// one directory sync for them all instead of one per height.
inline constexpr std::uint64_t wal_files_created_ahead = 16;
// Files of finished heights waiting for the log's removal thread. Past it drop_below deletes
// on the caller's thread, so a stalled disk cannot make the backlog grow without bound.
inline constexpr std::size_t wal_files_queued_for_removal_max = 64;

class FileWriteAheadLog final : public consensus::WriteAheadLog {
 public:
  // Whether a record is one the reader can use (for the node: consensus::check_log_record).
  using RecordCheck = std::function<ledger::Status(ByteSpan record)>;

  // Opens (creating it and its parents if missing) the log in `directory`, and checks every
  // height file in it. A torn last record (short, or with a bad checksum, and no intact record
  // after it) is what a crash during append leaves: it is dropped and the file truncated to
  // the records before it, and torn_records_dropped() counts it. Anything else that does not
  // parse is corruption, naming the file and offset: a bad record followed by an intact one,
  // or damage further back than one unfinished append could reach; so is an intact record
  // that `check` refuses (a valid checksum over bytes this build cannot replay), naming the
  // file, the record's index and offset. Every file is checked before any torn tail is cut,
  // so a corruption error leaves the directory as it was. io_error when the directory or a
  // file cannot be read or written. Files whose names are not <20 digits>.wal are left alone.
  // An empty file is a height with no records yet (append creates files ahead). The directory
  // is synced once, so that every file listed is durable before a record is appended to it.
  static ledger::Result<std::unique_ptr<FileWriteAheadLog>> open(const std::filesystem::path& directory,
                                                                 RecordCheck check);
  ~FileWriteAheadLog() override;
  FileWriteAheadLog(const FileWriteAheadLog&) = delete;
  FileWriteAheadLog& operator=(const FileWriteAheadLog&) = delete;

  // Writes the record with its frame and fdatasyncs the file before returning. A height with
  // no file yet first gets one together with the next wal_files_created_ahead - 1 heights that
  // have none, empty, and the directory is synced once for all of them. At
  // wal_height_bytes_max for the height the record is dropped and counted (records_over_limit).
  // Throws ConsensusStorageError on a failed write or sync; the file is then truncated back to
  // its last whole record when possible.
  void append(std::uint64_t height, ByteSpan record) override;
  // Reads the height's file again. Throws ConsensusStorageError when it no longer reads back
  // as it was written, or holds a record the check refuses (damage since open).
  std::vector<Bytes> records(std::uint64_t height) const override;
  // Forgets the lower heights and hands their files to the removal thread, which deletes them
  // without syncing the directory (see the .cpp), off the caller's critical path. Throws
  // ConsensusStorageError when an earlier removal failed.
  void drop_below(std::uint64_t height) override;

  std::size_t torn_records_dropped() const { return torn_records_dropped_; }
  std::uint64_t records_over_limit() const { return records_over_limit_; }
  // Directory syncs since open (open's own included): one per wal_files_created_ahead heights.
  std::uint64_t directory_syncs() const { return directory_syncs_; }
  // The file of `height`, whether or not it exists.
  std::filesystem::path file_of(std::uint64_t height) const;

 private:
  FileWriteAheadLog(std::filesystem::path directory, RecordCheck check);
  void close_current();
  void create_files_from(std::uint64_t height);
  void remove_files();  // the removal thread's loop

  std::mutex removal_mutex_;
  std::condition_variable removal_wanted_;
  std::vector<std::filesystem::path> to_remove_;  // guarded by removal_mutex_
  std::string removal_error_;                     // guarded by removal_mutex_; the first failure
  bool stopping_ = false;                         // guarded by removal_mutex_

  std::filesystem::path directory_;
  RecordCheck check_;
  std::map<std::uint64_t, std::uint64_t> height_bytes_;  // every height file: its length
  std::size_t torn_records_dropped_ = 0;
  std::uint64_t records_over_limit_ = 0;
  std::uint64_t directory_syncs_ = 0;
  int current_fd_ = -1;                  // the file appended to last, kept open
  std::uint64_t current_height_ = 0;
  std::thread remover_;  // last, so it starts once every member it reads exists
};

// The signer state file's layout (docs/consensus.md, "Persistence").
inline constexpr std::uint8_t signer_state_version = 1;
inline constexpr std::size_t signer_state_bytes = 54;

class FileSignerStateStore final : public consensus::SignerStateStore {
 public:
  static constexpr char file_name[] = "signer-state";
  static constexpr char temp_file_name[] = "signer-state.tmp";

  // Opens the store at `directory`/signer-state (creating the directory). A leftover
  // signer-state.tmp is removed: a crash between writing it and the rename, and nothing was
  // signed on it, since store() returns only after the rename. corruption when signer-state
  // exists but is not exactly one valid record (wrong size, magic, version, step or
  // checksum); io_error when it cannot be read.
  static ledger::Result<std::unique_ptr<FileSignerStateStore>> open(const std::filesystem::path& directory);

  ~FileSignerStateStore() override;
  FileSignerStateStore(const FileSignerStateStore&) = delete;
  FileSignerStateStore& operator=(const FileSignerStateStore&) = delete;

  std::optional<consensus::LastSigned> load() const override { return last_; }
  // The first record (no signer-state yet): writes signer-state.tmp, fsyncs it, renames it
  // over signer-state and fsyncs the directory. Every later one: overwrites the record in
  // place and fdatasyncs the file, one sync (docs/consensus.md, "Persistence", says why that
  // is enough). Throws ConsensusStorageError when any step fails.
  void store(const consensus::LastSigned& last) override;

  // The file's bytes for `last`, and back (nullopt: not a valid record). Public for tests.
  static Bytes encode(const consensus::LastSigned& last);
  static std::optional<consensus::LastSigned> decode(ByteSpan bytes);

 private:
  FileSignerStateStore(std::filesystem::path directory, std::optional<consensus::LastSigned> last)
      : directory_(std::move(directory)), last_(last) {}
  void create(const consensus::LastSigned& last);
  void overwrite(const consensus::LastSigned& last);

  std::filesystem::path directory_;
  std::optional<consensus::LastSigned> last_;
  int fd_ = -1;  // signer-state, open for overwrite() once a record exists
};

// Both stores, from a data dir: data_dir/consensus/wal and data_dir/consensus/signer-state.
// The log's records are checked with consensus::check_log_record.
struct ConsensusFiles {
  std::unique_ptr<FileWriteAheadLog> log;
  std::unique_ptr<FileSignerStateStore> signer_state;
};
inline constexpr char consensus_directory_name[] = "consensus";
// The errors of the two open()s, the path in the detail. The node refuses to start on any.
ledger::Result<ConsensusFiles> open_consensus_files(const std::filesystem::path& data_dir);

}  // namespace pc::node
