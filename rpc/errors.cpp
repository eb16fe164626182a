#include "rpc/errors.hpp"

#include <algorithm>
#include <charconv>

namespace pc::rpc {
namespace {

using nlohmann::json;

std::string dump_with_nlohmann(const json& value) { return value.dump(-1, ' ', false, json::error_handler_t::replace); }

// Printable ASCII other than the quote and the backslash: nlohmann writes such a string as
// it is, between quotes. Hex, ids, addresses and almost every name are such strings.
bool needs_no_escaping(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c >= 0x20 && c <= 0x7e && c != '"' && c != '\\'; });
}

void append_string(std::string& out, const std::string& text) {
  if (needs_no_escaping(text)) {
    out += '"';
    out += text;
    out += '"';
  } else {
    out += dump_with_nlohmann(json(text));
  }
}

template <typename Integer>
void append_integer(std::string& out, Integer value) {
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
  out.append(digits, end);
}

// What value.dump(-1, ' ', false, replace) writes, byte for byte (tests/rpc_serialize_test.cpp
// compares the two): members in the object's (sorted) order, no spaces. nlohmann checks and
// escapes strings a byte at a time, which was a third of a get_transaction's CPU; strings that
// need no escaping are copied here, anything else is left to nlohmann.
void append_json(std::string& out, const json& value) {
  switch (value.type()) {
    case json::value_t::object: {
      out += '{';
      bool first = true;
      for (const auto& [key, member] : value.get_ref<const json::object_t&>()) {
        if (!first) out += ',';
        first = false;
        append_string(out, key);
        out += ':';
        append_json(out, member);
      }
      out += '}';
      return;
    }
    case json::value_t::array: {
      out += '[';
      bool first = true;
      for (const json& element : value.get_ref<const json::array_t&>()) {
        if (!first) out += ',';
        first = false;
        append_json(out, element);
      }
      out += ']';
      return;
    }
    case json::value_t::string:
      append_string(out, value.get_ref<const std::string&>());
      return;
    case json::value_t::number_integer:
      append_integer(out, value.get<json::number_integer_t>());
      return;
    case json::value_t::number_unsigned:
      append_integer(out, value.get<json::number_unsigned_t>());
      return;
    case json::value_t::boolean:
      out += value.get<bool>() ? "true" : "false";
      return;
    case json::value_t::null:
      out += "null";
      return;
    default:  // floating point, binary, discarded: nlohmann's own rules
      out += dump_with_nlohmann(value);
      return;
  }
}

}  // namespace

nlohmann::json RpcError::to_json() const {
  nlohmann::json error = {{"code", code}, {"message", message}};
  if (!data.is_null()) error["data"] = data;
  return error;
}

RpcError application_error(const ledger::Error& error) {
  const std::int32_t code = error.code == ledger::Code::not_found
                                ? error_code::not_found
                                : error_code::application_base + static_cast<std::int32_t>(error.code);
  return RpcError{code, error.message(),
                  nlohmann::json{{"name", std::string(ledger::code_name(error.code))}, {"detail", error.detail}}};
}

RpcError invalid_params(std::string_view field, std::string_view problem) {
  std::string message = "invalid params: ";
  message += field;
  message += ": ";
  message += problem;
  return RpcError{error_code::invalid_params, std::move(message), nullptr};
}

std::string error_response_body(const RpcError& error) {
  return serialize(nlohmann::json{{"jsonrpc", "2.0"}, {"id", nullptr}, {"error", error.to_json()}});
}

std::string serialize(const nlohmann::json& value) {
  std::string out;
  append_json(out, value);
  return out;
}

}  // namespace pc::rpc
