#include "node/consensus_files.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "crypto/check.hpp"
#include "node/consensus/consensus.hpp"

namespace pc::node {
namespace {

std::string errno_text() { return std::strerror(errno); }

constexpr std::array<std::uint32_t, 256> crc32c_table = [] {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t value = i;
    for (int bit = 0; bit < 8; ++bit) value = (value >> 1) ^ ((value & 1) != 0 ? 0x82F63B78u : 0u);
    table[i] = value;
  }
  return table;
}();

// The CRC register after `bytes`, from `state` (the register, before the final xor).
std::uint32_t crc32c_update_bytewise(std::uint32_t state, ByteSpan bytes) {
  for (const std::uint8_t byte : bytes) state = (state >> 8) ^ crc32c_table[(state ^ byte) & 0xFFu];
  return state;
}

#if defined(__x86_64__)
// The same with the crc32 instruction, which computes exactly this polynomial (reflected,
// 0x82F63B78), eight bytes at a time.
__attribute__((target("sse4.2"))) std::uint32_t crc32c_update_sse42(std::uint32_t state, ByteSpan bytes) {
  const std::uint8_t* next = bytes.data();
  std::size_t left = bytes.size();
  std::uint64_t wide = state;
  for (; left >= 8; next += 8, left -= 8) {
    std::uint64_t word;
    std::memcpy(&word, next, 8);  // little-endian, as the instruction reads it
    wide = __builtin_ia32_crc32di(wide, word);
  }
  state = static_cast<std::uint32_t>(wide);
  for (; left > 0; ++next, --left) state = __builtin_ia32_crc32qi(state, *next);
  return state;
}
#endif

void put_u32(std::uint8_t* out, std::uint32_t value) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<std::uint8_t>(value >> (8 * i));
}

std::uint64_t get_le(const std::uint8_t* in, int width) {
  std::uint64_t value = 0;
  for (int i = 0; i < width; ++i) value |= std::uint64_t{in[i]} << (8 * i);
  return value;
}

// Syncs a directory, so that a file created, renamed or deleted in it stays so after a crash.
bool sync_directory(const std::filesystem::path& directory) {
  const int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  const bool synced = fd >= 0 && ::fsync(fd) == 0;
  if (fd >= 0) ::close(fd);
  return synced;
}

bool write_all(int fd, ByteSpan bytes) {
  std::size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    written += static_cast<std::size_t>(n);
  }
  return true;
}

ledger::Result<Bytes> read_file(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ledger::Error{ledger::Code::io_error, "cannot open " + path.string() + ": " + errno_text()};
  Bytes bytes;
  std::array<std::uint8_t, 64 * 1024> buffer{};
  for (;;) {
    const ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const std::string why = errno_text();
      ::close(fd);
      return ledger::Error{ledger::Code::io_error, "cannot read " + path.string() + ": " + why};
    }
    if (n == 0) break;
    bytes.insert(bytes.end(), buffer.begin(), buffer.begin() + n);
  }
  ::close(fd);
  return bytes;
}

// The framed record at `offset` of `file`, if it is whole and its checksum matches.
struct Frame {
  bool intact = false;
  std::uint64_t end = 0;  // where the record claims to end (may be past the file)
};

Frame frame_at(ByteSpan file, std::uint64_t offset) {
  if (file.size() - offset < wal_frame_header_bytes) return {false, file.size() + 1};
  const std::uint8_t* header = file.data() + offset;
  const std::uint64_t length = get_le(header, 4);
  const std::uint64_t end = offset + wal_frame_header_bytes + length;
  if (length > wal_record_bytes_max || end > file.size()) return {false, end};
  const std::uint32_t checksum =
      crc32c_extend(crc32c(ByteSpan(header, 4)), ByteSpan(header + wal_frame_header_bytes, length));
  return {checksum == get_le(header + 4, 4), end};
}

struct ParsedLog {
  std::vector<ByteSpan> records;
  std::uint64_t whole_bytes = 0;  // the length of the intact records; below the file's when torn
};

// Splits a height file into its records. A bad record that leaves no intact record after it
// and starts within one append's reach of the end is a torn tail (whole_bytes stops before
// it); any other bad record is corruption.
// An intact record that `check` refuses is corruption too: its checksum is valid, so no
// crash made it.
ledger::Result<ParsedLog> parse_log(ByteSpan file, const std::filesystem::path& path,
                                    const FileWriteAheadLog::RecordCheck& check) {
  ParsedLog parsed;
  std::uint64_t offset = 0;
  while (offset < file.size()) {
    const Frame frame = frame_at(file, offset);
    if (frame.intact) {
      const std::uint8_t* start = file.data() + offset + wal_frame_header_bytes;
      const ByteSpan record(start, static_cast<std::size_t>(frame.end - offset - wal_frame_header_bytes));
      if (auto checked = check(record); !checked) {
        return ledger::Error{ledger::Code::corruption,
                             path.string() + ": record " + std::to_string(parsed.records.size()) + " (at byte " +
                                 std::to_string(offset) + ") has a valid checksum but cannot be replayed (" +
                                 checked.error().detail +
                                 "): written by another build, or damaged before it was checksummed"};
      }
      parsed.records.push_back(record);
      offset = frame.end;
      continue;
    }
    const bool intact_after = frame.end < file.size() && frame_at(file, frame.end).intact;
    const bool within_last_append = file.size() - offset <= wal_frame_header_bytes + wal_record_bytes_max;
    if (intact_after || !within_last_append) {
      return ledger::Error{ledger::Code::corruption,
                           path.string() + ": the record at byte " + std::to_string(offset) +
                               " is damaged and is not the last one, so this is not what a crash leaves"};
    }
    break;
  }
  parsed.whole_bytes = offset;
  return parsed;
}

std::optional<std::uint64_t> height_of_file_name(const std::string& name) {
  constexpr std::size_t digits = 20;
  if (name.size() != digits + 4 || name.substr(digits) != ".wal") return std::nullopt;
  std::uint64_t height = 0;
  for (std::size_t i = 0; i < digits; ++i) {
    const char c = name[i];
    if (c < '0' || c > '9') return std::nullopt;
    const std::uint64_t digit = static_cast<std::uint64_t>(c - '0');
    if (height > (UINT64_MAX - digit) / 10) return std::nullopt;
    height = height * 10 + digit;
  }
  return height;
}

// Creates `directory` if missing, durably: its entry in the parent is synced.
ledger::Status make_directory(const std::filesystem::path& directory) {
  std::error_code error;
  const bool created = std::filesystem::create_directories(directory, error);
  if (error) return ledger::Error{ledger::Code::io_error, "cannot create " + directory.string() + ": " + error.message()};
  const std::filesystem::path parent = directory.parent_path().empty() ? "." : directory.parent_path();
  if (created && !sync_directory(parent)) {
    return ledger::Error{ledger::Code::io_error, "cannot sync " + parent.string() + ": " + errno_text()};
  }
  return {};
}

}  // namespace

std::uint32_t crc32c(ByteSpan bytes) { return crc32c_extend(0, bytes); }

std::uint32_t crc32c_extend(std::uint32_t crc, ByteSpan bytes) {
#if defined(__x86_64__)
  static const bool has_crc32_instruction = __builtin_cpu_supports("sse4.2");
  if (has_crc32_instruction) return ~crc32c_update_sse42(~crc, bytes);
#endif
  return ~crc32c_update_bytewise(~crc, bytes);
}

std::uint32_t crc32c_bytewise(ByteSpan bytes) { return ~crc32c_update_bytewise(0xFFFFFFFFu, bytes); }

// ---- FileWriteAheadLog ----

FileWriteAheadLog::FileWriteAheadLog(std::filesystem::path directory, RecordCheck check)
    : directory_(std::move(directory)), check_(std::move(check)), remover_([this] { remove_files(); }) {}

// Deletes what is queued before returning, so that a caller removing or reopening the
// directory next finds no file still to go.
FileWriteAheadLog::~FileWriteAheadLog() {
  close_current();
  {
    std::lock_guard lock(removal_mutex_);
    stopping_ = true;
  }
  removal_wanted_.notify_one();
  remover_.join();
}

void FileWriteAheadLog::remove_files() {
  std::unique_lock lock(removal_mutex_);
  for (;;) {
    removal_wanted_.wait(lock, [this] { return stopping_ || !to_remove_.empty(); });
    if (to_remove_.empty()) return;  // stopping, nothing left
    const std::vector<std::filesystem::path> batch = std::move(to_remove_);
    to_remove_.clear();
    lock.unlock();
    std::string failure;
    for (const std::filesystem::path& file : batch) {
      std::error_code error;
      std::filesystem::remove(file, error);
      if (error && failure.empty()) failure = "cannot remove " + file.string() + ": " + error.message();
    }
    lock.lock();
    if (removal_error_.empty()) removal_error_ = std::move(failure);
  }
}

void FileWriteAheadLog::close_current() {
  if (current_fd_ >= 0) ::close(current_fd_);
  current_fd_ = -1;
}

std::filesystem::path FileWriteAheadLog::file_of(std::uint64_t height) const {
  std::string digits = std::to_string(height);
  return directory_ / (std::string(20 - digits.size(), '0') + digits + ".wal");
}

ledger::Result<std::unique_ptr<FileWriteAheadLog>> FileWriteAheadLog::open(const std::filesystem::path& directory,
                                                                           RecordCheck check) {
  PC_CHECK(check != nullptr);
  if (auto made = make_directory(directory); !made) return made.error();
  std::unique_ptr<FileWriteAheadLog> log(new FileWriteAheadLog(directory, std::move(check)));
  // Every file is parsed before a torn tail is cut: a corruption error changes nothing.
  std::vector<std::pair<std::filesystem::path, std::uint64_t>> torn;  // file, length to keep
  std::error_code error;
  for (std::filesystem::directory_iterator it(directory, error), end; !error && it != end; it.increment(error)) {
    const auto height = height_of_file_name(it->path().filename().string());
    if (!height) continue;
    auto bytes = read_file(it->path());
    if (!bytes) return bytes.error();
    auto parsed = parse_log(*bytes, it->path(), log->check_);
    if (!parsed) return parsed.error();
    if (parsed->whole_bytes < bytes->size()) torn.emplace_back(it->path(), parsed->whole_bytes);
    log->height_bytes_[*height] = parsed->whole_bytes;
  }
  if (error) return ledger::Error{ledger::Code::io_error, "cannot list " + directory.string() + ": " + error.message()};
  // A file listed here may exist in memory only (the last process stopped between creating
  // it and syncing the directory); append syncs no directory for a file it knows.
  if (!sync_directory(directory)) {
    return ledger::Error{ledger::Code::io_error, "cannot sync " + directory.string() + ": " + errno_text()};
  }
  ++log->directory_syncs_;
  for (const auto& [path, whole_bytes] : torn) {
    // The torn tail goes, durably, so that the next append starts on a record boundary.
    const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    const bool cut = fd >= 0 && ::ftruncate(fd, static_cast<off_t>(whole_bytes)) == 0 && ::fsync(fd) == 0;
    if (fd >= 0) ::close(fd);
    if (!cut) return ledger::Error{ledger::Code::io_error, "cannot truncate the torn tail of " + path.string() + ": " + errno_text()};
    ++log->torn_records_dropped_;
  }
  return log;
}

void FileWriteAheadLog::append(std::uint64_t height, ByteSpan record) {
  PC_CHECK(record.size() <= wal_record_bytes_max);
  const std::uint64_t framed_bytes = wal_frame_header_bytes + record.size();
  const auto known = height_bytes_.find(height);
  const std::uint64_t length = known == height_bytes_.end() ? 0 : known->second;
  if (length + framed_bytes > wal_height_bytes_max) {
    ++records_over_limit_;
    return;
  }
  const std::filesystem::path path = file_of(height);
  if (current_fd_ < 0 || current_height_ != height) {
    close_current();
    if (known == height_bytes_.end()) create_files_from(height);
    current_fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    if (current_fd_ < 0) throw ConsensusStorageError("cannot open " + path.string() + ": " + errno_text());
    current_height_ = height;
  }
  Bytes frame(framed_bytes);
  put_u32(frame.data(), static_cast<std::uint32_t>(record.size()));
  if (!record.empty()) std::memcpy(frame.data() + wal_frame_header_bytes, record.data(), record.size());
  put_u32(frame.data() + 4, crc32c_extend(crc32c(ByteSpan(frame.data(), 4)), record));
  if (!write_all(current_fd_, frame) || ::fdatasync(current_fd_) != 0) {
    const std::string why = errno_text();
    // A partial frame at the end would be taken for a torn tail at the next open anyway; cut
    // it now so that a later append does not land behind it.
    if (::ftruncate(current_fd_, static_cast<off_t>(length)) != 0) {
      close_current();
    }
    throw ConsensusStorageError("cannot append to " + path.string() + ": " + why);
  }
  height_bytes_[height] = length + framed_bytes;
}

// A file must survive a crash for its records to, so its directory entry is synced before the
// first record is appended; one directory sync covers every file created before it. An empty
// file of a height not reached yet is harmless: it reads as a height with no records, at
// open and in records(), and drop_below deletes it like any other once the height is past.
// The heights are known (height_bytes_) only once the sync succeeded: a later append to one
// of them syncs no directory.
void FileWriteAheadLog::create_files_from(std::uint64_t height) {
  std::vector<std::uint64_t> created;
  for (std::uint64_t ahead = 0; ahead < wal_files_created_ahead && height <= UINT64_MAX - ahead; ++ahead) {
    if (height_bytes_.count(height + ahead) != 0) continue;
    const std::filesystem::path path = file_of(height + ahead);
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) throw ConsensusStorageError("cannot create " + path.string() + ": " + errno_text());
    ::close(fd);
    created.push_back(height + ahead);
  }
  if (!sync_directory(directory_)) throw ConsensusStorageError("cannot sync " + directory_.string() + ": " + errno_text());
  ++directory_syncs_;
  for (const std::uint64_t created_height : created) height_bytes_.emplace(created_height, 0);
}

std::vector<Bytes> FileWriteAheadLog::records(std::uint64_t height) const {
  const auto known = height_bytes_.find(height);
  if (known == height_bytes_.end()) return {};
  const std::filesystem::path path = file_of(height);
  auto bytes = read_file(path);
  if (!bytes) throw ConsensusStorageError(bytes.error().message());
  auto parsed = parse_log(*bytes, path, check_);
  if (!parsed || parsed->whole_bytes != known->second || bytes->size() != known->second) {
    throw ConsensusStorageError(path.string() + " no longer reads back as written" +
                                (parsed ? std::string() : ": " + parsed.error().detail));
  }
  std::vector<Bytes> records;
  records.reserve(parsed->records.size());
  for (const ByteSpan record : parsed->records) records.emplace_back(record.begin(), record.end());
  return records;
}

// Deleting a file costs the disk about as much as a synced append (the file system journals
// the freed blocks), and nothing waits for it: the height is committed. So the writer only
// queues the file. Neither a crash before the deletion nor one before the directory reaches
// the disk matters: a file left behind holds a committed height, which is never replayed,
// and the next start deletes it again (open lists it, and the engine drops every height
// below the one it starts).
void FileWriteAheadLog::drop_below(std::uint64_t height) {
  std::vector<std::filesystem::path> finished;
  for (auto it = height_bytes_.begin(); it != height_bytes_.end() && it->first < height;) {
    if (current_fd_ >= 0 && current_height_ == it->first) close_current();
    finished.push_back(file_of(it->first));
    it = height_bytes_.erase(it);
  }
  {
    std::lock_guard lock(removal_mutex_);
    if (!removal_error_.empty()) throw ConsensusStorageError(removal_error_);
    if (to_remove_.size() + finished.size() <= wal_files_queued_for_removal_max) {
      to_remove_.insert(to_remove_.end(), finished.begin(), finished.end());
      finished.clear();
    }
  }
  if (finished.empty()) {
    removal_wanted_.notify_one();
    return;
  }
  for (const std::filesystem::path& file : finished) {
    std::error_code error;
    std::filesystem::remove(file, error);
    if (error) throw ConsensusStorageError("cannot remove " + file.string() + ": " + error.message());
  }
}

// ---- FileSignerStateStore ----

namespace {
constexpr std::array<std::uint8_t, 4> signer_state_magic = {'P', 'C', 'S', 'S'};
}

Bytes FileSignerStateStore::encode(const consensus::LastSigned& last) {
  Bytes bytes(signer_state_magic.begin(), signer_state_magic.end());
  bytes.push_back(signer_state_version);
  for (int i = 0; i < 8; ++i) bytes.push_back(static_cast<std::uint8_t>(last.height >> (8 * i)));
  for (int i = 0; i < 4; ++i) bytes.push_back(static_cast<std::uint8_t>(last.round >> (8 * i)));
  bytes.push_back(static_cast<std::uint8_t>(last.step));
  bytes.insert(bytes.end(), last.sign_bytes_digest.begin(), last.sign_bytes_digest.end());
  const std::uint32_t checksum = crc32c(bytes);
  for (int i = 0; i < 4; ++i) bytes.push_back(static_cast<std::uint8_t>(checksum >> (8 * i)));
  PC_CHECK(bytes.size() == signer_state_bytes);
  return bytes;
}

std::optional<consensus::LastSigned> FileSignerStateStore::decode(ByteSpan bytes) {
  if (bytes.size() != signer_state_bytes) return std::nullopt;
  if (!std::equal(signer_state_magic.begin(), signer_state_magic.end(), bytes.begin())) return std::nullopt;
  if (bytes[4] != signer_state_version) return std::nullopt;
  if (crc32c(bytes.first(signer_state_bytes - 4)) != get_le(bytes.data() + signer_state_bytes - 4, 4)) return std::nullopt;
  const std::uint8_t step = bytes[17];
  if (step < 1 || step > 3) return std::nullopt;
  consensus::LastSigned last;
  last.height = get_le(bytes.data() + 5, 8);
  last.round = static_cast<std::uint32_t>(get_le(bytes.data() + 13, 4));
  last.step = static_cast<consensus::Step>(step);
  std::memcpy(last.sign_bytes_digest.data(), bytes.data() + 18, last.sign_bytes_digest.size());
  return last;
}

ledger::Result<std::unique_ptr<FileSignerStateStore>> FileSignerStateStore::open(const std::filesystem::path& directory) {
  if (auto made = make_directory(directory); !made) return made.error();
  std::error_code error;
  std::filesystem::remove(directory / temp_file_name, error);
  if (error) return ledger::Error{ledger::Code::io_error, "cannot remove " + (directory / temp_file_name).string() + ": " + error.message()};
  const std::filesystem::path path = directory / file_name;
  if (!std::filesystem::exists(path, error)) {
    if (error) return ledger::Error{ledger::Code::io_error, "cannot read " + path.string() + ": " + error.message()};
    return std::unique_ptr<FileSignerStateStore>(new FileSignerStateStore(directory, std::nullopt));
  }
  auto bytes = read_file(path);
  if (!bytes) return bytes.error();
  auto last = decode(*bytes);
  if (!last) {
    return ledger::Error{ledger::Code::corruption,
                         path.string() + " is not a valid signer record (" + std::to_string(bytes->size()) +
                             " bytes): the validator cannot know what it last signed"};
  }
  return std::unique_ptr<FileSignerStateStore>(new FileSignerStateStore(directory, last));
}

FileSignerStateStore::~FileSignerStateStore() {
  if (fd_ >= 0) ::close(fd_);
}

void FileSignerStateStore::store(const consensus::LastSigned& last) {
  if (last_) {
    overwrite(last);
  } else {
    create(last);
  }
  last_ = last;
}

// The record is one 54-byte write at offset 0 of a file that keeps its size, so fdatasync
// has no metadata to commit. A write of less than one 512-byte sector is atomic on the
// disks a node runs on (PostgreSQL's pg_control makes the same assumption); where it is
// not, a torn record fails its checksum and the next start refuses with corruption: it can
// stop the validator, never make it sign twice.
void FileSignerStateStore::overwrite(const consensus::LastSigned& last) {
  const std::filesystem::path path = directory_ / file_name;
  if (fd_ < 0) {
    fd_ = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd_ < 0) throw ConsensusStorageError("cannot open " + path.string() + ": " + errno_text());
  }
  const Bytes record = encode(last);
  ssize_t written = -1;
  do {
    written = ::pwrite(fd_, record.data(), record.size(), 0);
  } while (written < 0 && errno == EINTR);
  if (written != static_cast<ssize_t>(record.size()) || ::fdatasync(fd_) != 0) {
    throw ConsensusStorageError("cannot write " + path.string() + ": " + errno_text());
  }
}

// The first record: the file does not exist yet, so it appears whole or not at all.
void FileSignerStateStore::create(const consensus::LastSigned& last) {
  const std::filesystem::path temp = directory_ / temp_file_name;
  const std::filesystem::path path = directory_ / file_name;
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw ConsensusStorageError("cannot create " + temp.string() + ": " + errno_text());
  const bool written = write_all(fd, encode(last)) && ::fsync(fd) == 0;
  const std::string why = errno_text();
  ::close(fd);
  if (!written) throw ConsensusStorageError("cannot write " + temp.string() + ": " + why);
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    throw ConsensusStorageError("cannot rename " + temp.string() + ": " + errno_text());
  }
  if (!sync_directory(directory_)) throw ConsensusStorageError("cannot sync " + directory_.string() + ": " + errno_text());
}

ledger::Result<ConsensusFiles> open_consensus_files(const std::filesystem::path& data_dir) {
  const std::filesystem::path directory = data_dir / consensus_directory_name;
  auto signer_state = FileSignerStateStore::open(directory);
  if (!signer_state) return signer_state.error();
  auto log = FileWriteAheadLog::open(directory / "wal", consensus::check_log_record);
  if (!log) return log.error();
  return ConsensusFiles{std::move(log).value(), std::move(signer_state).value()};
}

}  // namespace pc::node
