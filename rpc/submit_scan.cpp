#include "rpc/submit_scan.hpp"

#include <algorithm>
#include <array>
#include <cstdint>

namespace pc::rpc {
namespace {

// Character classes, one table load per character: the hex of a transaction is most of a
// body, and a test per character was most of the scan.
//
// A string whose characters are all printable ASCII other than the quote and the backslash
// needs no unescaping and is printed back as it is (rpc/errors.cpp, append_string).
constexpr std::uint8_t plain_character = 1;
constexpr std::uint8_t hex_digit = 2;

constexpr std::array<std::uint8_t, 256> character_classes = [] {
  std::array<std::uint8_t, 256> classes{};
  for (int c = 0x20; c <= 0x7e; ++c) {
    if (c != '"' && c != '\\') classes[static_cast<std::size_t>(c)] = plain_character;
  }
  for (const char* digit = "0123456789abcdefABCDEF"; *digit != 0; ++digit) {
    classes[static_cast<unsigned char>(*digit)] |= hex_digit;
  }
  return classes;
}();

bool decimal_digit(char c) { return c >= '0' && c <= '9'; }

// Integer ids of up to 18 digits fit std::int64_t whatever their sign, so the general path
// holds them as integers and prints the same digits.
constexpr std::size_t id_digits_max = 18;

class Scanner {
 public:
  explicit Scanner(std::string_view text) : text_(text) {}

  bool at_end() const { return position_ == text_.size(); }

  void skip_whitespace() {
    while (position_ < text_.size()) {
      const char c = text_[position_];
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return;
      ++position_;
    }
  }

  // Takes `c` (after any whitespace) if it comes next.
  bool take(char c) {
    skip_whitespace();
    if (position_ < text_.size() && text_[position_] == c) {
      ++position_;
      return true;
    }
    return false;
  }

  bool take_literal(std::string_view literal) {
    skip_whitespace();
    if (text_.substr(position_, literal.size()) != literal) return false;
    position_ += literal.size();
    return true;
  }

  // A string of characters all of the class `allowed`, after any whitespace; its characters
  // without the quotes.
  std::optional<std::string_view> string(std::uint8_t allowed) {
    if (!take('"')) return std::nullopt;
    const std::size_t start = position_;
    while (position_ < text_.size() && (character_classes[static_cast<unsigned char>(text_[position_])] & allowed) != 0) {
      ++position_;
    }
    if (position_ == text_.size() || text_[position_] != '"') return std::nullopt;
    return text_.substr(start, position_++ - start);
  }

  // An id's JSON text (see ScannedSubmit::id_json).
  std::optional<std::string_view> id() {
    skip_whitespace();
    if (position_ == text_.size()) return std::nullopt;
    const std::size_t start = position_;
    const char first = text_[position_];
    if (first == '"') {
      if (!string(plain_character)) return std::nullopt;
      return text_.substr(start, position_ - start);
    }
    if (first == 'n') {
      if (!take_literal("null")) return std::nullopt;
      return text_.substr(start, position_ - start);
    }
    if (first == '-') ++position_;
    const std::size_t digits_start = position_;
    while (position_ < text_.size() && decimal_digit(text_[position_])) ++position_;
    const std::size_t digits = position_ - digits_start;
    if (digits == 0 || digits > id_digits_max) return std::nullopt;
    // JSON allows no leading zero; "-0" the general path prints as 0.
    if (text_[digits_start] == '0' && (digits > 1 || first == '-')) return std::nullopt;
    // A fraction or an exponent makes a float, which is no valid id: the general path says so.
    if (position_ < text_.size() && (text_[position_] == '.' || text_[position_] == 'e' || text_[position_] == 'E')) {
      return std::nullopt;
    }
    return text_.substr(start, position_ - start);
  }

  // One request object; false for anything but the accepted shape.
  bool request(ScannedSubmit& out) {
    if (!take('{')) return false;
    bool has_jsonrpc = false;
    bool has_method = false;
    bool has_params = false;
    bool has_id = false;
    do {
      const std::optional<std::string_view> name = string(plain_character);
      if (!name || !take(':')) return false;
      if (*name == "jsonrpc") {
        if (has_jsonrpc || !take_literal("\"2.0\"")) return false;
        has_jsonrpc = true;
      } else if (*name == "method") {
        if (has_method || !take_literal("\"submit_transaction\"")) return false;
        has_method = true;
      } else if (*name == "params") {
        if (has_params || !take('{') || !take_literal("\"hex\"") || !take(':')) return false;
        const std::optional<std::string_view> hex = string(hex_digit);
        if (!hex || !take('}')) return false;
        out.hex = *hex;
        has_params = true;
      } else if (*name == "id") {
        if (has_id) return false;
        const std::optional<std::string_view> id_json = id();
        if (!id_json) return false;
        out.id_json = *id_json;
        has_id = true;
      } else {
        return false;
      }
    } while (take(','));
    return take('}') && has_jsonrpc && has_method && has_params;
  }

 private:
  std::string_view text_;
  std::size_t position_ = 0;
};

}  // namespace

std::optional<ScannedSubmits> scan_submit_requests(std::string_view body, std::size_t requests_max) {
  if (requests_max == 0) return std::nullopt;
  Scanner scanner(body);
  ScannedSubmits scanned;
  scanned.batch = scanner.take('[');
  // Batches are usually of tens of requests: room for them at once, not by doubling.
  constexpr std::size_t requests_reserved_max = 128;
  scanned.requests.reserve(scanned.batch ? std::min(requests_max, requests_reserved_max) : 1);
  do {
    if (scanned.requests.size() == requests_max) return std::nullopt;
    ScannedSubmit request;
    if (!scanner.request(request)) return std::nullopt;
    scanned.requests.push_back(request);
  } while (scanned.batch && scanner.take(','));
  if (scanned.batch && !scanner.take(']')) return std::nullopt;
  scanner.skip_whitespace();
  if (!scanner.at_end()) return std::nullopt;
  return scanned;
}

}  // namespace pc::rpc
