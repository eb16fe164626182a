// The validator's signer-state record (node/consensus_files.hpp, docs/consensus.md
// "Persistence") on arbitrary bytes: FileSignerStateStore::decode refuses anything but one
// valid 54-byte record, and a record it accepts encodes back to the input byte for byte, so
// the guard reloads exactly what it stored.
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_support.hpp"
#include "node/consensus_files.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using pc::node::FileSignerStateStore;
  const pc::ByteSpan input(data, size);
  const auto last = FileSignerStateStore::decode(input);
  if (!last) return 0;
  FUZZ_CHECK(size == pc::node::signer_state_bytes);
  FUZZ_CHECK(last->step == pc::consensus::Step::propose || last->step == pc::consensus::Step::prevote ||
             last->step == pc::consensus::Step::precommit);
  const pc::Bytes encoded = FileSignerStateStore::encode(*last);
  FUZZ_CHECK(std::equal(encoded.begin(), encoded.end(), input.begin(), input.end()));
  return 0;
}
