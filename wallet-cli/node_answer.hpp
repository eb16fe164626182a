// Typed reading of the node's answers. The wallet trusts a node for nothing it can check, so
// every field it uses is read through one of these accessors, which check the JSON type and
// the range docs/rpc.md gives: a negative, fractional, string-typed, missing or oversized
// value, a hex string of the wrong length or a wrong element in an array throws
// Failure(Exit::node_unreachable) naming the field ("get_account.lots[2].points"), before
// the wallet prints, signs or submits anything.
#pragma once

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/bytes.hpp"

namespace pc::wallet {

// An answer the wallet cannot use: exit 3 with "the node's answer is not what docs/rpc.md
// describes: PATH WHAT".
[[noreturn]] void malformed_answer(const std::string& path, const std::string& what);

// One JSON object of an answer and where it sits in it (for messages). The JSON must outlive
// the view.
class AnswerObject {
 public:
  // Throws when `value` is not an object.
  AnswerObject(const nlohmann::json& value, std::string path);

  // A whole number from `min` to `max` (a JSON integer: 12.0, -1 and "12" are refused).
  std::uint64_t u64(std::string_view field, std::uint64_t min = 0,
                    std::uint64_t max = std::numeric_limits<std::uint64_t>::max()) const;
  // As u64, or nullopt for null.
  std::optional<std::uint64_t> u64_or_null(std::string_view field, std::uint64_t max) const;
  bool boolean(std::string_view field) const;
  // Whether the field is null (it must be present).
  bool is_null(std::string_view field) const;
  // Whether the field is there at all (for members of a later protocol version).
  bool has(std::string_view field) const;
  std::string string(std::string_view field, std::size_t bytes_max) const;
  // A string that is one of `allowed`.
  std::string one_of(std::string_view field, const std::vector<std::string_view>& allowed) const;
  // Exactly N bytes as 2N hex characters.
  template <std::size_t N>
  FixedBytes<N> fixed_hex(std::string_view field) const {
    const std::optional<FixedBytes<N>> bytes = fixed_from_hex<N>(string(field, 2 * N));
    if (!bytes) malformed_answer(path(field), "is not " + std::to_string(N) + " bytes of hex");
    return *bytes;
  }
  // Any whole number of bytes as hex (the answer's own size cap bounds it).
  Bytes hex(std::string_view field) const;
  AnswerObject object(std::string_view field) const;
  // An array of at most `count_max` objects.
  std::vector<AnswerObject> objects(std::string_view field, std::size_t count_max) const;
  // An array of at most `count_max` hex strings of N bytes each.
  template <std::size_t N>
  std::vector<FixedBytes<N>> fixed_hex_array(std::string_view field, std::size_t count_max) const {
    std::vector<FixedBytes<N>> out;
    const nlohmann::json& array = array_member(field, count_max);
    for (std::size_t i = 0; i < array.size(); ++i) {
      const std::string where = path(field) + "[" + std::to_string(i) + "]";
      if (!array[i].is_string()) malformed_answer(where, "is not a hex string");
      const auto bytes = fixed_from_hex<N>(array[i].get<std::string>());
      if (!bytes) malformed_answer(where, "is not " + std::to_string(N) + " bytes of hex");
      out.push_back(*bytes);
    }
    return out;
  }

  const std::string& path() const { return path_; }

 private:
  std::string path(std::string_view field) const;
  const nlohmann::json& member(std::string_view field) const;
  const nlohmann::json& array_member(std::string_view field, std::size_t count_max) const;

  const nlohmann::json* value_;
  std::string path_;
};

// A whole answer that is an array of at most `count_max` objects (get_partners).
std::vector<AnswerObject> answer_objects(const nlohmann::json& value, const std::string& path, std::size_t count_max);

}  // namespace pc::wallet
