#include "ledger/voucher.hpp"

#include "crypto/domains.hpp"
#include "ledger/codec.hpp"

namespace pc::ledger {

std::string voucher_code(const crypto::Hash256& redemption, std::uint16_t unit) {
  Writer suffix;
  suffix.u16(unit);
  const crypto::Hash256 digest = crypto::tagged_hash(domain::voucher_code, {redemption, suffix.view()});
  std::uint64_t bits = 0;
  for (std::size_t i = 0; i < 8; ++i) bits = (bits << 8) | digest[i];
  std::string code;
  for (std::size_t i = 0; i < voucher_code_chars; ++i) {
    code.push_back(voucher_alphabet[(bits >> (59 - 5 * i)) & 0x1f]);
  }
  return code;
}

bool is_voucher_code(std::string_view code) {
  if (code.size() != voucher_code_chars) return false;
  for (char c : code) {
    if (voucher_alphabet.find(c) == std::string_view::npos) return false;
  }
  return true;
}

std::optional<std::string> parse_voucher_code(std::string_view text) {
  if (text.size() > voucher_input_chars_max) return std::nullopt;
  std::string code;
  for (char c : text) {
    if (c == '-' || c == ' ') continue;
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (c == 'I' || c == 'L') c = '1';
    if (c == 'O') c = '0';
    code.push_back(c);
  }
  if (!is_voucher_code(code)) return std::nullopt;
  return code;
}

std::string format_voucher_code(std::string_view code) {
  std::string out;
  for (std::size_t i = 0; i < code.size(); ++i) {
    if (i > 0 && i % 4 == 0) out.push_back('-');
    out.push_back(code[i]);
  }
  return out;
}

}  // namespace pc::ledger
