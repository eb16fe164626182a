// Block::decode on arbitrary bytes: a typed error, or a block whose encode() gives back the
// input byte for byte (so a block id and its commit cover exactly one byte string).
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_support.hpp"
#include "ledger/block.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  pc::fuzz::initialize_once();
  const pc::ByteSpan input(data, size);
  auto decoded = pc::ledger::Block::decode(input);
  if (!decoded) {
    const auto code = static_cast<unsigned>(decoded.error().code);
    // The one documented exception: a Transfer to its own sender is self_transfer
    // (docs/protocol.md), a field rule the decoder applies.
    FUZZ_CHECK((code >= 100 && code < 200) || decoded.error().code == pc::ledger::Code::self_transfer);
    return 0;
  }
  const pc::ledger::Block& block = *decoded;
  const pc::Bytes encoded = block.encode();
  FUZZ_CHECK(std::equal(encoded.begin(), encoded.end(), input.begin(), input.end()));

  auto again = pc::ledger::Block::decode(encoded);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again->header == block.header);
  FUZZ_CHECK(again->commit == block.commit);
  FUZZ_CHECK(again->tx_ids() == block.tx_ids());
  return 0;
}
