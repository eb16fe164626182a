// The consensus engine's files (node/consensus_files.hpp): the write-ahead log survives a
// reopen, a torn last record is dropped, damage further back is refused with corruption; the
// signer state survives a reopen and a SignerGuard over it still refuses to sign twice.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <functional>

#include "node/consensus/consensus.hpp"
#include "node/consensus_files.hpp"
#include "tests/fixtures.hpp"

namespace {

using namespace pc;

Bytes record_of(std::size_t index, std::size_t size) {
  Bytes record(size);
  for (std::size_t i = 0; i < size; ++i) record[i] = static_cast<std::uint8_t>(index * 31 + i);
  return record;
}


Bytes read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

void write_bytes(const std::filesystem::path& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

// These tests frame opaque records; the node's check (the engine's decoder) has its own test.
ledger::Status any_record(ByteSpan) { return {}; }

std::unique_ptr<node::FileWriteAheadLog> open_log(const std::filesystem::path& directory) {
  auto log = node::FileWriteAheadLog::open(directory, any_record);
  REQUIRE(log.ok());
  return std::move(log).value();
}

// Writes `damaged` over `file` and checks that opening the log in `directory` is refused as
// corruption naming the file, and that the file is left as it was for the operator.
void check_refused_as_corruption(const std::filesystem::path& directory, const std::filesystem::path& file,
                                 const Bytes& damaged) {
  write_bytes(file, damaged);
  auto log = node::FileWriteAheadLog::open(directory, any_record);
  REQUIRE_FALSE(log.ok());
  CHECK(log.error().code == ledger::Code::corruption);
  CHECK(log.error().detail.find(file.string()) != std::string::npos);
  CHECK(read_bytes(file) == damaged);
}

// Forks a child that runs `work(report)` on a log in `directory` until it is killed; `work`
// calls report(message) after each step it wants acknowledged. The parent passes each message
// to `take` until `enough()` holds, SIGKILLs the child, then takes the messages still in the
// pipe, which the child wrote before it died.
void kill_child_mid_work(const std::filesystem::path& directory,
                         const std::function<void(node::FileWriteAheadLog&, const std::function<void(std::uint32_t)>&)>& work,
                         const std::function<void(std::uint32_t)>& take, const std::function<bool()>& enough) {
  int messages[2];
  REQUIRE(::pipe(messages) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::close(messages[0]);
    // The child never returns into the test framework, not even by an exception.
    try {
      auto log = node::FileWriteAheadLog::open(directory, any_record);
      if (!log) ::_exit(2);
      work(**log, [&](std::uint32_t message) {
        if (::write(messages[1], &message, sizeof message) != sizeof message) ::_exit(3);
      });
    } catch (...) {
      ::_exit(5);
    }
    ::_exit(4);  // work runs until the kill
  }
  ::close(messages[1]);
  std::uint32_t message = 0;
  while (!enough() && ::read(messages[0], &message, sizeof message) == sizeof message) take(message);
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  while (::read(messages[0], &message, sizeof message) == sizeof message) take(message);
  ::close(messages[0]);
}

// A record the engine itself writes: the "work available" that starts the only validator's
// rounds and the propose timeout, written before the nil prevote that timeout makes it sign.
Bytes engine_record() {
  const ledger::Genesis genesis = test::make_genesis();
  consensus::MemoryWriteAheadLog memory;
  consensus::MemorySignerStateStore signer_state;
  const crypto::SecretKey key = test::seeded_key("partner 1 validator");
  consensus::SignerGuard guard(key, signer_state);
  consensus::Engine engine(genesis, 1, &guard, memory);
  (void)engine.on_work_available(test::test_genesis_time_ms + 1);
  (void)engine.on_timeout({consensus::TimeoutKind::propose, 1, 0, 0}, test::test_genesis_time_ms + 2);
  const std::vector<Bytes> records = memory.records(1);
  REQUIRE(records.size() == 1);
  return records[0];
}

ledger::Vote signed_vote(ledger::VoteType type, std::uint64_t height, std::uint32_t round,
                         std::optional<crypto::Hash256> block_id) {
  ledger::Vote vote{type, test::test_chain_id, height, round, block_id, 1, {}};
  vote.signature = test::seeded_key("partner 1 validator").sign(vote.sign_bytes());
  return vote;
}

}  // namespace

TEST_CASE("crc32c gives the Castagnoli check value", "[node][consensus_files]") {
  // Proves the checksum is CRC-32C as documented (the standard check value of "123456789").
  CHECK(node::crc32c(as_bytes(std::string_view("123456789"))) == 0xE3069283u);
  CHECK(node::crc32c({}) == 0u);
}

TEST_CASE("crc32c matches the RFC 3720 vectors and the byte-at-a-time table", "[node][consensus_files]") {
  // Proves the fast checksum (the crc32 instruction where the CPU has it) gives exactly the
  // table's values: the iSCSI test vectors, every length and alignment around its 8-byte
  // steps, and extend() joining the parts of a message as the log's frames do.
  Bytes zeros(32, 0x00), ones(32, 0xFF), ascending(32), descending(32);
  for (std::size_t i = 0; i < 32; ++i) {
    ascending[i] = static_cast<std::uint8_t>(i);
    descending[i] = static_cast<std::uint8_t>(31 - i);
  }
  for (const auto& [bytes, expected] : {std::pair{zeros, 0x8A9136AAu}, std::pair{ones, 0x62A8AB43u},
                                        std::pair{ascending, 0x46DD794Eu}, std::pair{descending, 0x113FDB5Cu}}) {
    CHECK(node::crc32c(bytes) == expected);
    CHECK(node::crc32c_bytewise(bytes) == expected);
  }
  Bytes message(300);
  for (std::size_t i = 0; i < message.size(); ++i) message[i] = static_cast<std::uint8_t>(i * 131 + 7);
  const ByteSpan all(message);
  for (std::size_t start = 0; start < 9; ++start) {
    for (std::size_t length = 0; start + length <= all.size(); ++length) {
      const ByteSpan part = all.subspan(start, length);
      REQUIRE(node::crc32c(part) == node::crc32c_bytewise(part));
    }
  }
  for (std::size_t split = 0; split <= all.size(); ++split) {
    REQUIRE(node::crc32c_extend(node::crc32c(all.first(split)), all.subspan(split)) == node::crc32c_bytewise(all));
  }
}

TEST_CASE("write-ahead log records survive a reopen, per height, and drop_below removes old heights",
          "[node][consensus_files]") {
  // Proves records come back in append order after the log is closed and opened again, that
  // heights are kept apart, and that drop_below forgets lower heights at once and their files
  // are gone for good once the log is closed (its removal thread deletes them).
  test::TempDir dir;
  {
    auto log = open_log(dir.path());
    log->append(5, record_of(0, 10));
    log->append(5, record_of(1, 0));
    log->append(6, record_of(2, 300));
    log->append(5, record_of(3, 70'000));
  }
  {
    auto log = open_log(dir.path());
    CHECK(log->torn_records_dropped() == 0);
    CHECK(log->records(5) == std::vector<Bytes>{record_of(0, 10), record_of(1, 0), record_of(3, 70'000)});
    CHECK(log->records(6) == std::vector<Bytes>{record_of(2, 300)});
    CHECK(log->records(7).empty());
    log->drop_below(6);
    CHECK(log->records(5).empty());
    log->append(6, record_of(4, 1));
  }
  CHECK_FALSE(std::filesystem::exists(dir.path() / "00000000000000000005.wal"));
  auto reopened = open_log(dir.path());
  CHECK(reopened->records(5).empty());
  CHECK(reopened->records(6) == std::vector<Bytes>{record_of(2, 300), record_of(4, 1)});
}

TEST_CASE("a torn last log record is dropped at every byte offset, the earlier records kept",
          "[node][consensus_files]") {
  // Proves that a file cut anywhere inside its last record (what a crash in append leaves)
  // opens with that record dropped and the file truncated, and that the next append follows
  // the kept records.
  test::TempDir dir;
  const std::vector<Bytes> kept{record_of(0, 40), record_of(1, 17)};
  const Bytes last = record_of(2, 25);
  std::uintmax_t kept_bytes = 0;
  std::uintmax_t full_bytes = 0;
  std::filesystem::path file;
  Bytes whole;
  {
    auto log = open_log(dir.path());
    for (const Bytes& record : kept) log->append(1, record);
    kept_bytes = std::filesystem::file_size(log->file_of(1));
    log->append(1, last);
    file = log->file_of(1);
    full_bytes = std::filesystem::file_size(file);
    whole = read_bytes(file);
  }
  REQUIRE(full_bytes == kept_bytes + node::wal_frame_header_bytes + last.size());
  for (std::uintmax_t cut = kept_bytes + 1; cut < full_bytes; ++cut) {
    INFO("file cut at byte " << cut << " of " << full_bytes);
    write_bytes(file, Bytes(whole.begin(), whole.begin() + static_cast<std::ptrdiff_t>(cut)));
    auto log = open_log(dir.path());
    CHECK(log->torn_records_dropped() == 1);
    CHECK(log->records(1) == kept);
    CHECK(std::filesystem::file_size(file) == kept_bytes);
  }
  // A whole last record with a bad checksum is torn too (its bytes were not all written).
  Bytes bad_tail = whole;
  bad_tail.back() ^= 0x01;
  write_bytes(file, bad_tail);
  auto log = open_log(dir.path());
  CHECK(log->torn_records_dropped() == 1);
  CHECK(log->records(1) == kept);
  log->append(1, last);
  CHECK(open_log(dir.path())->records(1) == std::vector<Bytes>{kept[0], kept[1], last});
}

TEST_CASE("a damaged log record followed by intact ones is refused as corruption", "[node][consensus_files]") {
  // Proves that a flipped byte in a middle record is not taken for a torn tail: open fails
  // with a typed corruption error naming the file, and the file is left as it was.
  test::TempDir dir;
  std::filesystem::path file;
  {
    auto log = open_log(dir.path());
    for (std::size_t i = 0; i < 3; ++i) log->append(9, record_of(i, 20));
    file = log->file_of(9);
  }
  Bytes bytes = read_bytes(file);
  const std::size_t second_record_payload = node::wal_frame_header_bytes + 20 + node::wal_frame_header_bytes;
  SECTION("a payload byte") { bytes[second_record_payload + 5] ^= 0x40; }
  SECTION("a checksum byte") { bytes[second_record_payload - 2] ^= 0x01; }
  check_refused_as_corruption(dir.path(), file, bytes);
}

TEST_CASE("a log record with a valid checksum that the engine cannot replay is refused as corruption at open",
          "[node][consensus_files]") {
  // Proves that a record framed and checksummed correctly but holding bytes the engine cannot
  // decode (written by another build, or damaged before it was checksummed) stops the open
  // with a typed corruption error naming the file and the record, instead of reaching the
  // engine's replay, and that nothing is changed: not the file, not a torn tail elsewhere.
  test::TempDir dir;
  const Bytes good = engine_record();
  REQUIRE(consensus::check_log_record(good).ok());
  Bytes bad;
  SECTION("an unknown record kind") { bad = Bytes{0xEE, 1, 2, 3, 4, 5, 6, 7, 8}; }
  SECTION("a vote record whose vote does not decode") {
    bad = Bytes{2, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0xde, 0xad, 0xbe, 0xef, 0x00};
  }
  SECTION("a good record with a trailing byte") {
    bad = good;
    bad.push_back(0);
  }
  SECTION("a record shorter than its header") { bad = Bytes{7, 1}; }
  REQUIRE_FALSE(consensus::check_log_record(bad).ok());
  std::filesystem::path file;
  std::filesystem::path torn_file;
  {
    auto log = open_log(dir.path());
    log->append(3, good);
    log->append(3, bad);
    log->append(3, good);
    file = log->file_of(3);
    log->append(4, good);
    torn_file = log->file_of(4);
  }
  const Bytes bytes = read_bytes(file);
  Bytes torn = read_bytes(torn_file);
  torn.resize(torn.size() - 1);
  write_bytes(torn_file, torn);
  auto log = node::FileWriteAheadLog::open(dir.path(), consensus::check_log_record);
  REQUIRE_FALSE(log.ok());
  CHECK(log.error().code == ledger::Code::corruption);
  CHECK(log.error().detail.find(file.string() + ": record 1 (at byte " +
                                std::to_string(node::wal_frame_header_bytes + good.size()) + ")") != std::string::npos);
  CHECK(read_bytes(file) == bytes);
  CHECK(read_bytes(torn_file) == torn);
  // The same file through the node's opener.
  const std::filesystem::path data_dir = dir.path() / "data";
  std::filesystem::create_directories(data_dir / node::consensus_directory_name / "wal");
  std::filesystem::copy_file(file, data_dir / node::consensus_directory_name / "wal" / file.filename());
  auto files = node::open_consensus_files(data_dir);
  REQUIRE_FALSE(files.ok());
  CHECK(files.error().code == ledger::Code::corruption);
}

TEST_CASE("the write-ahead log stops writing a height at its byte limit", "[node][consensus_files]") {
  // Proves the per-height bound: records past wal_height_bytes_max are counted and not
  // written, so a flood cannot fill the disk, and other heights are not affected.
  test::TempDir dir;
  auto log = open_log(dir.path());
  const Bytes big(node::wal_record_bytes_max, 0xAB);
  std::size_t written = 0;
  while (log->records_over_limit() == 0) {
    log->append(3, big);
    if (log->records_over_limit() == 0) ++written;
  }
  CHECK(written == node::wal_height_bytes_max / (node::wal_frame_header_bytes + big.size()));
  CHECK(std::filesystem::file_size(log->file_of(3)) <= node::wal_height_bytes_max);
  log->append(4, record_of(0, 5));
  CHECK(log->records(4) == std::vector<Bytes>{record_of(0, 5)});
  CHECK(open_log(dir.path())->records(3).size() == written);
}

TEST_CASE("a log killed in the middle of appends reopens with every acknowledged record",
          "[node][consensus_files]") {
  // Proves, with a real crash (SIGKILL of a child process appending as fast as it can), that
  // every record whose append returned (the child reports each through a pipe) is there after
  // reopening, in order, and that whatever the kill tore is dropped, not refused.
  test::TempDir dir;
  std::uint32_t count = 0;
  kill_child_mid_work(
      dir.path(),
      [](node::FileWriteAheadLog& log, const std::function<void(std::uint32_t)>& report) {
        for (std::uint32_t i = 0;; ++i) {
          log.append(1, record_of(i, 1000 + i % 5000));
          report(i);
        }
      },
      [&](std::uint32_t) { ++count; }, [&] { return count >= 50; });
  REQUIRE(count >= 50);
  auto log = open_log(dir.path());
  const std::vector<Bytes> records = log->records(1);
  // Every acknowledged record, and at most the one being written when the kill came.
  REQUIRE(records.size() >= count);
  REQUIRE(records.size() <= count + 1);
  for (std::size_t i = 0; i < records.size(); ++i) {
    INFO("record " << i);
    CHECK(records[i] == record_of(i, 1000 + i % 5000));
  }
}

TEST_CASE("the log creates the files of the next heights with one directory sync for them all",
          "[node][consensus_files]") {
  // Proves the first append of a height without a file creates it and the files of the next
  // wal_files_created_ahead - 1 heights, empty, with one directory sync, and that appends to
  // those heights sync no directory; and that the empty files are harmless: they open as
  // heights without records (no torn record, no corruption), take appends, and read back.
  test::TempDir dir;
  const std::uint64_t ahead = node::wal_files_created_ahead;
  {
    auto log = open_log(dir.path());
    const std::uint64_t at_open = log->directory_syncs();
    log->append(1, record_of(1, 10));
    CHECK(log->directory_syncs() == at_open + 1);
    CHECK(std::filesystem::file_size(log->file_of(ahead)) == 0);
    CHECK_FALSE(std::filesystem::exists(log->file_of(ahead + 1)));
    for (std::uint64_t height = 2; height <= ahead; ++height) {
      log->drop_below(height);
      log->append(height, record_of(height, 10));
    }
    CHECK(log->directory_syncs() == at_open + 1);
    log->append(ahead + 1, record_of(ahead + 1, 10));
    CHECK(log->directory_syncs() == at_open + 2);
    CHECK(std::filesystem::file_size(log->file_of(2 * ahead)) == 0);
  }
  auto log = open_log(dir.path());
  CHECK(log->torn_records_dropped() == 0);
  CHECK(log->records(ahead) == std::vector<Bytes>{record_of(ahead, 10)});
  CHECK(log->records(ahead + 1) == std::vector<Bytes>{record_of(ahead + 1, 10)});
  CHECK(log->records(ahead + 2).empty());
  const std::uint64_t at_open = log->directory_syncs();
  log->append(ahead + 2, record_of(ahead + 2, 10));
  CHECK(log->directory_syncs() == at_open);
  CHECK(open_log(dir.path())->records(ahead + 2) == std::vector<Bytes>{record_of(ahead + 2, 10)});
}

TEST_CASE("empty log files of later heights leave the torn-tail and corruption checks as they were",
          "[node][consensus_files]") {
  // Proves the files created ahead change neither check at open: beside them a torn last
  // record is still dropped (and counted once), and a damaged middle record is still refused
  // as corruption naming its file, with nothing cut.
  test::TempDir dir;
  std::filesystem::path file;
  {
    auto log = open_log(dir.path());
    for (std::size_t i = 0; i < 3; ++i) log->append(4, record_of(i, 20));
    file = log->file_of(4);
    REQUIRE(std::filesystem::exists(log->file_of(4 + node::wal_files_created_ahead - 1)));
  }
  const Bytes whole = read_bytes(file);
  SECTION("a torn tail") {
    write_bytes(file, Bytes(whole.begin(), whole.end() - 3));
    auto log = open_log(dir.path());
    CHECK(log->torn_records_dropped() == 1);
    CHECK(log->records(4) == std::vector<Bytes>{record_of(0, 20), record_of(1, 20)});
    CHECK(log->records(5).empty());
  }
  SECTION("a damaged middle record") {
    Bytes damaged = whole;
    damaged[2 * node::wal_frame_header_bytes + 20 + 3] ^= 0x10;
    check_refused_as_corruption(dir.path(), file, damaged);
  }
}

TEST_CASE("a log killed while moving from height to height reopens with every acknowledged record",
          "[node][consensus_files]") {
  // Proves, with a real crash (SIGKILL of a child appending one record per height and dropping
  // the height before, as the engine does), that the files created ahead and the removals left
  // to the removal thread are harmless: the log reopens without corruption, the last
  // acknowledged height holds its record unless the child had begun to drop it (the engine
  // drops a height once its block is committed), and no height above the one being written
  // holds any. The child announces each drop before it starts, so the test knows which.
  test::TempDir dir;
  // Each message is a height, with this bit set for "dropping below it" and clear for
  // "appended to it".
  constexpr std::uint32_t dropping = 0x8000'0000;
  std::uint32_t last = 0;  // the last height whose append was acknowledged
  bool last_being_dropped = false;
  std::uint32_t count = 0;
  kill_child_mid_work(
      dir.path(),
      [](node::FileWriteAheadLog& log, const std::function<void(std::uint32_t)>& report) {
        for (std::uint32_t height = 1;; ++height) {
          report(height | dropping);
          log.drop_below(height);
          log.append(height, record_of(height, 200));
          report(height);
        }
      },
      [&](std::uint32_t message) {
        if ((message & dropping) != 0) {
          last_being_dropped = (message & ~dropping) == last + 1 && last != 0;
        } else {
          last = message;
          last_being_dropped = false;
          ++count;
        }
      },
      [&] { return count >= 3 * node::wal_files_created_ahead; });
  REQUIRE(count >= 3 * node::wal_files_created_ahead);
  INFO("last acknowledged height " << last << (last_being_dropped ? ", being dropped" : ""));
  auto log = open_log(dir.path());
  const std::vector<Bytes> at_last = log->records(last);
  if (last_being_dropped) {
    CHECK((at_last.empty() || at_last == std::vector<Bytes>{record_of(last, 200)}));
  } else {
    CHECK(at_last == std::vector<Bytes>{record_of(last, 200)});
  }
  const std::vector<Bytes> next = log->records(last + 1);
  CHECK(next.size() <= 1);
  if (!next.empty()) CHECK(next[0] == record_of(last + 1, 200));
  for (std::uint64_t height = last + 2; height <= last + 2 * node::wal_files_created_ahead; ++height) {
    CHECK(log->records(height).empty());
  }
}

TEST_CASE("the signer state survives a reopen and a guard over it refuses a conflicting vote",
          "[node][consensus_files][signer]") {
  // Proves cometbft#6031 cannot happen across a restart: after signing a prevote, a new
  // FileSignerStateStore over the same directory loads the record, and a SignerGuard over it
  // signs the identical vote again (same signature) but refuses another block at that
  // height, round and step, and anything earlier.
  test::TempDir dir;
  const crypto::SecretKey key = test::seeded_key("partner 1 validator");
  const ledger::Vote prevote = signed_vote(ledger::VoteType::prevote, 7, 2, crypto::sha256(as_bytes(std::string_view("a"))));
  std::optional<crypto::Signature> first;
  {
    auto store = node::FileSignerStateStore::open(dir.path());
    REQUIRE(store.ok());
    CHECK_FALSE((*store)->load().has_value());
    consensus::SignerGuard guard(key, **store);
    first = guard.sign_vote(prevote);
    REQUIRE(first.has_value());
  }
  auto store = node::FileSignerStateStore::open(dir.path());
  REQUIRE(store.ok());
  REQUIRE((*store)->load().has_value());
  CHECK((*store)->load()->height == 7);
  CHECK((*store)->load()->round == 2);
  CHECK((*store)->load()->step == consensus::Step::prevote);
  consensus::SignerGuard guard(key, **store);
  CHECK(guard.sign_vote(prevote) == first);
  CHECK_FALSE(guard.sign_vote(signed_vote(ledger::VoteType::prevote, 7, 2, std::nullopt)).has_value());
  CHECK_FALSE(guard.sign_vote(signed_vote(ledger::VoteType::prevote, 7, 1, std::nullopt)).has_value());
  CHECK(guard.sign_vote(signed_vote(ledger::VoteType::precommit, 7, 2, std::nullopt)).has_value());
  auto after = node::FileSignerStateStore::open(dir.path());
  REQUIRE(after.ok());
  CHECK((*after)->load()->step == consensus::Step::precommit);
}

TEST_CASE("a signer temp file left by a crash is removed and a damaged record is refused",
          "[node][consensus_files][signer]") {
  // Proves open() ignores (and deletes) signer-state.tmp whatever it holds, keeping the record
  // that was renamed into place, and refuses a signer-state that is not one valid record.
  test::TempDir dir;
  const consensus::LastSigned last{12, 3, consensus::Step::precommit, crypto::sha256(as_bytes(std::string_view("x")))};
  {
    auto store = node::FileSignerStateStore::open(dir.path());
    REQUIRE(store.ok());
    (*store)->store(last);
  }
  const std::filesystem::path record = dir.path() / node::FileSignerStateStore::file_name;
  const std::filesystem::path temp = dir.path() / node::FileSignerStateStore::temp_file_name;
  CHECK(std::filesystem::file_size(record) == node::signer_state_bytes);
  CHECK_FALSE(std::filesystem::exists(temp));
  const consensus::LastSigned newer{13, 0, consensus::Step::propose, {}};
  const Bytes half = node::FileSignerStateStore::encode(newer);
  write_bytes(temp, Bytes(half.begin(), half.begin() + 20));
  {
    auto store = node::FileSignerStateStore::open(dir.path());
    REQUIRE(store.ok());
    CHECK((*store)->load() == last);
    CHECK_FALSE(std::filesystem::exists(temp));
  }
  Bytes damaged = read_bytes(record);
  damaged[10] ^= 0x01;
  write_bytes(record, damaged);
  auto refused = node::FileSignerStateStore::open(dir.path());
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code == ledger::Code::corruption);
  write_bytes(record, Bytes(node::signer_state_bytes - 1, 0));
  CHECK(node::FileSignerStateStore::open(dir.path()).error().code == ledger::Code::corruption);
}

TEST_CASE("after the first signer record, each record overwrites the file in place", "[node][consensus_files][signer]") {
  // Proves the signer state costs one sync per signature once the file exists: the second
  // and later records are written into the same file (same inode, no temp file, no rename,
  // so no directory sync) and read back after a reopen, the newest one whole.
  test::TempDir dir;
  const std::filesystem::path record = dir.path() / node::FileSignerStateStore::file_name;
  const consensus::LastSigned first{5, 0, consensus::Step::propose, crypto::sha256(as_bytes(std::string_view("p")))};
  const consensus::LastSigned second{5, 0, consensus::Step::prevote, crypto::sha256(as_bytes(std::string_view("v")))};
  const consensus::LastSigned third{6, 2, consensus::Step::precommit, crypto::sha256(as_bytes(std::string_view("c")))};
  struct stat created {};
  {
    auto store = node::FileSignerStateStore::open(dir.path());
    REQUIRE(store.ok());
    (*store)->store(first);
    REQUIRE(::stat(record.c_str(), &created) == 0);
    (*store)->store(second);
    (*store)->store(third);
    CHECK((*store)->load() == third);
  }
  struct stat rewritten {};
  REQUIRE(::stat(record.c_str(), &rewritten) == 0);
  CHECK(rewritten.st_ino == created.st_ino);
  CHECK(std::filesystem::file_size(record) == node::signer_state_bytes);
  CHECK_FALSE(std::filesystem::exists(dir.path() / node::FileSignerStateStore::temp_file_name));
  auto reopened = node::FileSignerStateStore::open(dir.path());
  REQUIRE(reopened.ok());
  CHECK((*reopened)->load() == third);
  (*reopened)->store(consensus::LastSigned{7, 0, consensus::Step::propose, {}});
  CHECK(node::FileSignerStateStore::open(dir.path()).value()->load()->height == 7);
}

TEST_CASE("the signer record has the documented layout", "[node][consensus_files][signer][golden]") {
  // Proves the byte layout of docs/consensus.md ("Persistence") with a golden vector.
  consensus::LastSigned last{0x0102030405060708, 0x0A0B0C0D, consensus::Step::prevote, {}};
  for (std::size_t i = 0; i < last.sign_bytes_digest.size(); ++i) last.sign_bytes_digest[i] = static_cast<std::uint8_t>(i);
  const Bytes bytes = node::FileSignerStateStore::encode(last);
  CHECK(to_hex(bytes) ==
        "5043535301"                    // "PCSS", version 1
        "0807060504030201"              // height
        "0d0c0b0a"                      // round
        "02"                            // step: prevote
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"  // digest
        "76b8f373");                    // CRC-32C of the 50 bytes before it, LE
  CHECK(node::FileSignerStateStore::decode(bytes) == last);
}

TEST_CASE("open_consensus_files opens both stores under data_dir/consensus", "[node][consensus_files]") {
  // Proves the factory the node uses puts the files where docs/consensus.md says, and that a
  // damaged log makes it fail with the log's error.
  test::TempDir dir;
  {
    auto files = node::open_consensus_files(dir.path());
    REQUIRE(files.ok());
    files->log->append(2, engine_record());
    files->signer_state->store({2, 0, consensus::Step::propose, {}});
  }
  CHECK(std::filesystem::exists(dir.path() / "consensus" / "signer-state"));
  CHECK(std::filesystem::exists(dir.path() / "consensus" / "wal" / "00000000000000000002.wal"));
  auto files = node::open_consensus_files(dir.path());
  REQUIRE(files.ok());
  CHECK(files->log->records(2) == std::vector<Bytes>{engine_record()});
  CHECK(files->signer_state->load()->height == 2);
}
