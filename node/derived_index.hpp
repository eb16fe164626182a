// Opens (creating if missing) the LevelDB of an index derived from the chain, such as the
// history and analytics indexes; throws std::runtime_error naming `what` if it cannot.
#pragma once

#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include <leveldb/db.h>
#include <leveldb/filter_policy.h>

namespace pc::node {

// A derived index's LevelDB options (bench/README.md, "Commit observers' CPU per transaction"):
// - A Bloom filter of 10 bits per key (about 1% false positives, 1.25 bytes of each table per
//   entry): most of the analytics index's point reads are of entries not yet written (a
//   member's first day at a partner, their points of the day), and without it each one reads
//   and checks a block of every table it might be in.
// - No compression: the entries are mostly keys and hashes, which take 15 to 18% more disk
//   without snappy than with it, for the CPU of compressing every table at each compaction.
// - A 16 MiB write buffer, as the chain store's: a quarter as many level-0 tables for a read to
//   look through and to merge into level 1, for up to 24 MiB more memory per index (the
//   memtable and the one being written out).
inline leveldb::Options derived_index_options() {
  // Shared by every derived index for the life of the process: LevelDB needs the policy to
  // outlive each database using it.
  static const leveldb::FilterPolicy* const bloom_filter = leveldb::NewBloomFilterPolicy(10);
  leveldb::Options options;
  options.paranoid_checks = true;
  options.filter_policy = bloom_filter;
  options.compression = leveldb::kNoCompression;
  options.write_buffer_size = 16 * 1024 * 1024;
  return options;
}

inline std::unique_ptr<leveldb::DB> open_derived_index(const std::filesystem::path& directory, std::string_view what) {
  leveldb::Options options = derived_index_options();
  options.create_if_missing = true;
  leveldb::DB* raw_db = nullptr;
  if (auto status = leveldb::DB::Open(options, directory.string(), &raw_db); !status.ok()) {
    throw std::runtime_error("cannot open the " + std::string(what) + " " + directory.string() + ": " +
                             status.ToString());
  }
  return std::unique_ptr<leveldb::DB>(raw_db);
}

}  // namespace pc::node
