#include "wallet-cli/node_answer.hpp"

#include <algorithm>

#include "wallet-cli/exit_codes.hpp"

namespace pc::wallet {
namespace {

using Json = nlohmann::json;

// Enough of a bad value to recognise it in the message, not a node's whole answer.
constexpr std::size_t shown_value_chars_max = 40;

std::string shown(const Json& value) {
  std::string text = value.dump();
  if (text.size() > shown_value_chars_max) text = text.substr(0, shown_value_chars_max) + "...";
  return text;
}

std::vector<AnswerObject> objects_of(const Json& array, const std::string& where) {
  std::vector<AnswerObject> out;
  out.reserve(array.size());
  for (std::size_t i = 0; i < array.size(); ++i) out.emplace_back(array[i], where + "[" + std::to_string(i) + "]");
  return out;
}

void check_array(const Json& value, const std::string& where, std::size_t count_max) {
  if (!value.is_array()) malformed_answer(where, "is " + shown(value) + ", not an array");
  if (value.size() > count_max) {
    malformed_answer(where, "has " + std::to_string(value.size()) + " entries, over " + std::to_string(count_max));
  }
}

}  // namespace

void malformed_answer(const std::string& path, const std::string& what) {
  throw Failure(Exit::node_unreachable, "the node's answer is not what docs/rpc.md describes: " + path + " " + what);
}

AnswerObject::AnswerObject(const Json& value, std::string path) : value_(&value), path_(std::move(path)) {
  if (!value.is_object()) malformed_answer(path_, "is " + shown(value) + ", not an object");
}

std::string AnswerObject::path(std::string_view field) const { return path_ + "." + std::string(field); }

const Json& AnswerObject::member(std::string_view field) const {
  const auto found = value_->find(field);
  if (found == value_->end()) malformed_answer(path(field), "is missing");
  return *found;
}

const Json& AnswerObject::array_member(std::string_view field, std::size_t count_max) const {
  const Json& value = member(field);
  check_array(value, path(field), count_max);
  return value;
}

std::uint64_t AnswerObject::u64(std::string_view field, std::uint64_t min, std::uint64_t max) const {
  const Json& value = member(field);
  // nlohmann stores every non-negative JSON integer as unsigned; a negative one is signed
  // and a fraction or exponent is a float: both are refused rather than converted.
  if (!value.is_number_unsigned()) malformed_answer(path(field), "is " + shown(value) + ", not a whole number");
  const auto number = value.get<std::uint64_t>();
  if (number < min || number > max) {
    malformed_answer(path(field), "is " + shown(value) + ", outside " + std::to_string(min) + "-" + std::to_string(max));
  }
  return number;
}

std::optional<std::uint64_t> AnswerObject::u64_or_null(std::string_view field, std::uint64_t max) const {
  if (member(field).is_null()) return std::nullopt;
  return u64(field, 0, max);
}

bool AnswerObject::boolean(std::string_view field) const {
  const Json& value = member(field);
  if (!value.is_boolean()) malformed_answer(path(field), "is " + shown(value) + ", not true or false");
  return value.get<bool>();
}

bool AnswerObject::is_null(std::string_view field) const { return member(field).is_null(); }

bool AnswerObject::has(std::string_view field) const { return value_->find(field) != value_->end(); }

std::string AnswerObject::string(std::string_view field, std::size_t bytes_max) const {
  const Json& value = member(field);
  if (!value.is_string()) malformed_answer(path(field), "is " + shown(value) + ", not a string");
  std::string text = value.get<std::string>();
  if (text.size() > bytes_max) {
    malformed_answer(path(field), "is " + std::to_string(text.size()) + " bytes, over " + std::to_string(bytes_max));
  }
  return text;
}

std::string AnswerObject::one_of(std::string_view field, const std::vector<std::string_view>& allowed) const {
  const Json& value = member(field);
  if (!value.is_string() || std::find(allowed.begin(), allowed.end(), value.get<std::string>()) == allowed.end()) {
    malformed_answer(path(field), "is " + shown(value) + ", not one of the documented values");
  }
  return value.get<std::string>();
}

Bytes AnswerObject::hex(std::string_view field) const {
  const Json& value = member(field);
  if (!value.is_string()) malformed_answer(path(field), "is " + shown(value) + ", not a hex string");
  std::optional<Bytes> bytes = from_hex(value.get<std::string>());
  if (!bytes) malformed_answer(path(field), "is not hex");
  return std::move(*bytes);
}

AnswerObject AnswerObject::object(std::string_view field) const { return AnswerObject(member(field), path(field)); }

std::vector<AnswerObject> AnswerObject::objects(std::string_view field, std::size_t count_max) const {
  return objects_of(array_member(field, count_max), path(field));
}

std::vector<AnswerObject> answer_objects(const Json& value, const std::string& path, std::size_t count_max) {
  check_array(value, path, count_max);
  return objects_of(value, path);
}

}  // namespace pc::wallet
