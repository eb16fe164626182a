// One consensus write-ahead-log height file with arbitrary bytes (node/consensus_files.hpp,
// docs/consensus.md "Persistence"), opened as a restarted node opens it: FileWriteAheadLog::open
// gives corruption, or a log whose records read back. When it accepts the file, the file then
// holds exactly those records (a torn tail was cut, at most one), a second open finds nothing
// to cut and the same records, and an append after them reads back after them. Each record
// also goes through the engine's log record decoder (consensus::check_log_record).
//
// Each input gets a fresh directory under /dev/shm when there is one (tmpfs: the log's fsyncs
// cost nothing), else under TMPDIR.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "fuzz/fuzz_support.hpp"
#include "node/consensus/consensus.hpp"
#include "node/consensus_files.hpp"

namespace {

constexpr std::uint64_t height = 7;

// The log is opened on the framing alone, so that arbitrary records get through to the
// engine's decoder below (the node opens it with consensus::check_log_record).
pc::ledger::Status any_record(pc::ByteSpan) { return {}; }

std::filesystem::path scratch_directory() {
  static const std::filesystem::path root = [] {
    std::filesystem::path base = std::filesystem::is_directory("/dev/shm") ? std::filesystem::path("/dev/shm")
                                                                            : std::filesystem::temp_directory_path();
    return base / ("pointchain-fuzz-wal-" + std::to_string(::getpid()));
  }();
  return root;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using pc::node::FileWriteAheadLog;
  const std::filesystem::path directory = scratch_directory();
  std::filesystem::remove_all(directory);
  std::filesystem::create_directories(directory);
  const std::filesystem::path file = directory / "00000000000000000007.wal";
  {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    FUZZ_CHECK(out.good());
  }

  auto log = FileWriteAheadLog::open(directory, any_record);
  if (!log) {
    FUZZ_CHECK(log.error().code == pc::ledger::Code::corruption);
    std::filesystem::remove_all(directory);
    return 0;
  }
  FUZZ_CHECK((*log)->torn_records_dropped() <= 1);
  const std::vector<pc::Bytes> records = (*log)->records(height);
  std::uint64_t framed_bytes = 0;
  for (const pc::Bytes& record : records) {
    FUZZ_CHECK(record.size() <= pc::node::wal_record_bytes_max);
    (void)pc::consensus::check_log_record(record);  // any bytes: a typed answer, never a crash
    framed_bytes += pc::node::wal_frame_header_bytes + record.size();
  }
  FUZZ_CHECK(framed_bytes == std::filesystem::file_size(file));
  FUZZ_CHECK(framed_bytes <= size);
  FUZZ_CHECK(((*log)->torn_records_dropped() == 1) == (framed_bytes < size));

  const pc::Bytes appended{'f', 'u', 'z', 'z'};
  (*log)->append(height, appended);
  log->reset();
  auto reopened = FileWriteAheadLog::open(directory, any_record);
  FUZZ_CHECK(reopened.ok() && (*reopened)->torn_records_dropped() == 0);
  std::vector<pc::Bytes> expected = records;
  expected.push_back(appended);
  FUZZ_CHECK((*reopened)->records(height) == expected);
  std::filesystem::remove_all(directory);
  return 0;
}
