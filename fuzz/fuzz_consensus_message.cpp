// Vote, Proposal and Evidence decoders on arbitrary bytes. The first byte picks the decoder;
// the rest is its input. Each gives a typed 1xx error, or a value whose encode() gives back the
// input byte for byte (so a signature covers exactly one byte string) and whose sign bytes
// start with its own prefix.
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "crypto/domains.hpp"
#include "fuzz/fuzz_support.hpp"
#include "ledger/votes.hpp"

namespace {

template <class T>
void check_round_trip(pc::ByteSpan input, const pc::ledger::Result<T>& decoded) {
  if (!decoded) {
    const auto code = static_cast<unsigned>(decoded.error().code);
    FUZZ_CHECK(code >= 100 && code < 200);
    return;
  }
  const pc::Bytes encoded = decoded->encode();
  FUZZ_CHECK(std::equal(encoded.begin(), encoded.end(), input.begin(), input.end()));
  auto again = T::decode(encoded);
  FUZZ_CHECK(again.ok() && *again == *decoded);
}

bool starts_with(const pc::Bytes& bytes, const pc::domain::Prefix& prefix) {
  return bytes.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), bytes.begin());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  pc::fuzz::initialize_once();
  if (size == 0) return 0;
  const pc::ByteSpan input(data + 1, size - 1);
  switch (data[0] % 3) {
    case 0: {
      auto vote = pc::ledger::Vote::decode(input);
      check_round_trip(input, vote);
      if (vote) {
        const auto& prefix = vote->type == pc::ledger::VoteType::prevote ? pc::domain::prevote : pc::domain::precommit;
        FUZZ_CHECK(starts_with(vote->sign_bytes(), prefix));
      }
      break;
    }
    case 1: {
      auto proposal = pc::ledger::Proposal::decode(input);
      check_round_trip(input, proposal);
      if (proposal) {
        FUZZ_CHECK(starts_with(proposal->sign_bytes(), pc::domain::proposal));
        FUZZ_CHECK(!proposal->pol_round || *proposal->pol_round < proposal->round);
      }
      break;
    }
    default: check_round_trip(input, pc::ledger::Evidence::decode(input)); break;
  }
  return 0;
}
