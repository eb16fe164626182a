// decode_address on arbitrary text: an AddressError, or a key whose encode_address is the
// input's one canonical spelling (lower case, with i and l read as 1 and o as 0) and decodes
// back to the same key.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "crypto/address.hpp"
#include "fuzz/fuzz_support.hpp"

namespace {

// What decode_address promises to treat as the same character.
std::string canonical_spelling(std::string_view address) {
  std::string out;
  out.reserve(address.size());
  for (char c : address) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c == 'i' || c == 'l') c = '1';
    if (c == 'o') c = '0';
    out.push_back(c);
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  pc::fuzz::initialize_once();
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto decoded = pc::crypto::decode_address(text);
  if (!decoded) return 0;
  FUZZ_CHECK(pc::crypto::is_valid_public_key(*decoded));
  const std::string encoded = pc::crypto::encode_address(*decoded);
  FUZZ_CHECK(encoded == canonical_spelling(text));
  auto again = pc::crypto::decode_address(encoded);
  FUZZ_CHECK(again.ok() && *again == *decoded);
  return 0;
}
