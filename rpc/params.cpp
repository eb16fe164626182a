#include "rpc/params.hpp"

#include <algorithm>

#include "crypto/address.hpp"

namespace pc::rpc {

using nlohmann::json;

namespace {
const json empty_array = json::array();
}

Params::Params(const json& object, std::initializer_list<std::string_view> allowed, std::string prefix)
    : object_(object), prefix_(std::move(prefix)) {
  if (!object_.is_object()) {
    const std::string where = prefix_.empty() ? "params" : prefix_.substr(0, prefix_.size() - 1);
    error_ = invalid_params(where, "expected an object of named params");
    return;
  }
  for (const auto& item : object_.items()) {
    if (std::find(allowed.begin(), allowed.end(), item.key()) == allowed.end()) {
      fail(item.key(), "unknown field");
      return;
    }
  }
}

void Params::fail(std::string_view name, std::string_view problem) {
  if (!error_) error_ = invalid_params(prefix_ + std::string(name), problem);
}

bool Params::has(std::string_view name) const {
  return object_.is_object() && object_.contains(name) && !object_.at(std::string(name)).is_null();
}

const json* Params::find(std::string_view name, bool required) {
  if (error_) return nullptr;
  const auto found = object_.find(name);
  if (found == object_.end() || found->is_null()) {
    if (required) fail(name, "missing");
    return nullptr;
  }
  return &*found;
}

std::optional<std::uint64_t> Params::optional_unsigned_integer(std::string_view name, std::uint64_t max) {
  const json* value = find(name, false);
  if (value == nullptr) return std::nullopt;
  // nlohmann parses every non-negative integer that fits 64 bits as number_unsigned; negative
  // integers, fractions, exponents and larger integers arrive as the other number kinds.
  if (!value->is_number_unsigned()) {
    fail(name, "expected a non-negative integer");
    return std::nullopt;
  }
  const auto number = value->get<std::uint64_t>();
  if (number > max) {
    fail(name, "must be at most " + std::to_string(max));
    return std::nullopt;
  }
  return number;
}

std::uint64_t Params::unsigned_integer(std::string_view name, std::uint64_t max) {
  if (!error_ && !has(name)) fail(name, "missing");
  return optional_unsigned_integer(name, max).value_or(0);
}

std::string Params::text(std::string_view name) {
  const json* value = find(name, true);
  if (value == nullptr) return {};
  if (!value->is_string()) {
    fail(name, "expected a string");
    return {};
  }
  return value->get<std::string>();
}

bool Params::boolean(std::string_view name) {
  const json* value = find(name, true);
  if (value == nullptr) return false;
  if (!value->is_boolean()) {
    fail(name, "expected true or false");
    return false;
  }
  return value->get<bool>();
}

crypto::PublicKey Params::address(std::string_view name, crypto::KeyCheck check) {
  const std::string encoded = text(name);
  if (error_) return {};
  auto key = crypto::decode_address(encoded, check);
  if (!key) {
    fail(name, crypto::describe(key.error()));
    return {};
  }
  return *key;
}

crypto::Hash256 Params::hash(std::string_view name) {
  const std::string encoded = text(name);
  if (error_) return {};
  auto hash = fixed_from_hex<32>(encoded);
  if (!hash) {
    fail(name, "expected 64 hex characters");
    return {};
  }
  return *hash;
}

Bytes Params::hex(std::string_view name) {
  const std::string encoded = text(name);
  if (error_) return {};
  auto bytes = from_hex(encoded);
  if (!bytes) {
    fail(name, "expected hex (an even number of characters 0-9, a-f)");
    return {};
  }
  return std::move(*bytes);
}

const json& Params::array(std::string_view name) {
  const json* value = find(name, true);
  if (value == nullptr) return empty_array;
  if (!value->is_array()) {
    fail(name, "expected an array");
    return empty_array;
  }
  return *value;
}

}  // namespace pc::rpc
