// JSON-RPC error codes and the mapping from ledger errors. Codes are sent over the wire, so
// they are never renumbered (docs/rpc.md, "Errors").
//
//   -32700 .. -32600  JSON-RPC 2.0's own codes
//   1000 + ledger::Code  application errors, data {name, detail} (ledger/errors.hpp)
//   4000 .. 4029      RPC-level errors, named after the HTTP status they resemble
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "crypto/result.hpp"
#include "ledger/errors.hpp"

namespace pc::rpc {

namespace error_code {
inline constexpr std::int32_t parse_error = -32700;
inline constexpr std::int32_t invalid_request = -32600;
inline constexpr std::int32_t method_not_found = -32601;
inline constexpr std::int32_t invalid_params = -32602;
inline constexpr std::int32_t internal_error = -32603;
inline constexpr std::int32_t application_base = 1000;  // + the numeric ledger::Code
inline constexpr std::int32_t bad_http_request = 4000;  // malformed HTTP framing (HTTP 400)
inline constexpr std::int32_t unauthorized = 4001;       // partner method without the right token
inline constexpr std::int32_t batch_too_large = 4003;    // JSON-RPC batch or earn_batch over its limit
inline constexpr std::int32_t not_found = 4004;          // block, transaction, order id, subscription
inline constexpr std::int32_t request_too_large = 4013;  // body over body_bytes_max (HTTP 413)
inline constexpr std::int32_t rate_limited = 4029;       // client IP over its token bucket (HTTP 429)
}  // namespace error_code

struct RpcError {
  std::int32_t code = error_code::internal_error;
  std::string message;
  nlohmann::json data;  // null: no "data" member in the error object

  nlohmann::json to_json() const;  // {code, message[, data]}
};

// What one method call produced: its result, or an error.
using MethodResult = pc::Result<nlohmann::json, RpcError>;

// A ledger error as an application error: code 1000 + the ledger code, message
// Error::message(), data {name, detail}. ledger::Code::not_found becomes 4004 (with the same
// data), so clients see one "not found" code whichever layer noticed.
RpcError application_error(const ledger::Error& error);

// -32602 naming the field: "invalid params: <field>: <problem>".
RpcError invalid_params(std::string_view field, std::string_view problem);

// A complete JSON-RPC error response with id null, serialized: for errors found before any
// request could be read (parse error, body too large, rate limited).
std::string error_response_body(const RpcError& error);

// Serializes a response. Invalid UTF-8 (which parsed input never contains) is replaced
// rather than thrown on.
std::string serialize(const nlohmann::json& value);

}  // namespace pc::rpc
