// Reads by-name params strictly: a field of the wrong JSON type, a float or negative number
// where an unsigned integer belongs, a string where a number belongs, a missing required
// field or an unknown field is -32602 with a message naming the field. Readers return a
// placeholder after the first problem; the caller checks error() once, after reading all.
#pragma once

#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "crypto/address.hpp"
#include "crypto/hash.hpp"
#include "crypto/keys.hpp"
#include "rpc/errors.hpp"

namespace pc::rpc {

class Params {
 public:
  // `object` must outlive the reader. `prefix` names where the object sits, for messages
  // ("purchases[2]."). A non-object is an error at once; so is a member not in `allowed`.
  Params(const nlohmann::json& object, std::initializer_list<std::string_view> allowed, std::string prefix = {});

  bool has(std::string_view name) const;

  // A JSON integer in [0, max].
  std::uint64_t unsigned_integer(std::string_view name, std::uint64_t max = UINT64_MAX);
  std::optional<std::uint64_t> optional_unsigned_integer(std::string_view name, std::uint64_t max = UINT64_MAX);
  std::string text(std::string_view name);
  bool boolean(std::string_view name);
  // A "pc..." address; errors carry crypto::describe(AddressError).
  crypto::PublicKey address(std::string_view name, crypto::KeyCheck check = crypto::KeyCheck::full);
  // Exactly 64 hex characters.
  crypto::Hash256 hash(std::string_view name);
  // Hex bytes of any even length.
  Bytes hex(std::string_view name);
  // A JSON array; the caller reads its elements.
  const nlohmann::json& array(std::string_view name);

  const std::optional<RpcError>& error() const { return error_; }
  // Records a problem found by the caller about a field (the first problem wins).
  void fail(std::string_view name, std::string_view problem);

 private:
  const nlohmann::json* find(std::string_view name, bool required);

  const nlohmann::json& object_;
  std::string prefix_;
  std::optional<RpcError> error_;
};

}  // namespace pc::rpc
