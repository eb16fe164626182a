// The LevelDB Env the chain store reads its tables through by default.
//
// Why: LevelDB's POSIX Env maps table files into memory (up to 1000 of them on 64-bit), and a
// block read from a mapped file that is stored uncompressed is never put in the block cache
// ("do not double-cache", table/format.cc). Hashes do not compress, so the Merkle records and
// other blocks mostly of ids are stored uncompressed: with ReadOptions::verify_checksums (which
// every read of the store passes) each lookup in one allocated a buffer the size of the block
// and computed the CRC32C of the whole block again (32 KB for the Merkle record of a block of
// 2,000 transactions, in software: Debian's LevelDB has no SSE4.2 path). This Env reads table
// files with pread instead: a block read once is checked once and then served from the block
// cache.
//
// Everything else (writes, logs, the manifest, locks, directories) is Env::Default()'s.
// Thread-safe: LevelDB reads a table file from several threads at once, and pread takes the
// offset as an argument.
#pragma once

#include <memory>

namespace leveldb {
class Env;
}

namespace pc::ledger {

// Table files kept open for the whole life of their table (LevelDB keeps up to
// max_open_files tables open per database). Past this many in the process, a table file is
// opened and closed again for each read, as LevelDB's own Env does past its limits: slower,
// never failing for want of file descriptors.
inline constexpr int cached_read_open_files_max = 500;

// An Env that reads table files with pread and otherwise is `base` (which must outlive it),
// keeping at most `open_files_max` table files open at once.
std::unique_ptr<leveldb::Env> make_cached_read_env(leveldb::Env* base, int open_files_max);

// The process-wide instance over Env::Default() with cached_read_open_files_max (never
// destroyed, like Env::Default()): what ChainStore opens its database with unless told otherwise.
leveldb::Env* cached_read_env();

}  // namespace pc::ledger
