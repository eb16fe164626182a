// Opens (creating if missing) the LevelDB of an index derived from the chain, such as the
// history and analytics indexes; throws std::runtime_error naming `what` if it cannot.
#pragma once

#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include <leveldb/db.h>

namespace pc::node {

inline std::unique_ptr<leveldb::DB> open_derived_index(const std::filesystem::path& directory, std::string_view what) {
  leveldb::Options options;
  options.create_if_missing = true;
  options.paranoid_checks = true;
  leveldb::DB* raw_db = nullptr;
  if (auto status = leveldb::DB::Open(options, directory.string(), &raw_db); !status.ok()) {
    throw std::runtime_error("cannot open the " + std::string(what) + " " + directory.string() + ": " +
                             status.ToString());
  }
  return std::unique_ptr<leveldb::DB>(raw_db);
}

}  // namespace pc::node
