// A small synchronous JSON-RPC 2.0 client for a Pointchain node (the contract is
// docs/rpc.md): one HTTP/1.1 POST per call over a fresh connection, with a connect timeout,
// a timeout on the whole request, and a cap on the response body. Not thread-safe: one
// client per thread.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "crypto/result.hpp"

namespace pc::wallet {

inline constexpr std::uint64_t connect_timeout_ms = 5'000;
inline constexpr std::uint64_t request_timeout_ms = 30'000;
inline constexpr std::size_t response_body_bytes_max = 4 * 1024 * 1024;
// Bytes read but not yet parsed (a header, a chunk header, a piece of body).
inline constexpr std::size_t response_buffer_bytes_max = 64 * 1024;

struct NodeEndpoint {
  std::string host;   // a name, an IPv4 address, or an IPv6 address without brackets
  std::string port;   // "80" when the URL names none
  std::string target; // the path, "/" when the URL names none
};

// Accepts http://HOST[:PORT][/PATH]; HOST may be [IPv6]. The error is a one-line message.
pc::Result<NodeEndpoint, std::string> parse_node_url(std::string_view url);

// Why a call did not return a result.
struct RpcFailure {
  enum class Kind {
    unreachable,  // no connection, or no complete answer within the timeouts
    bad_answer,   // an answer that is not a JSON-RPC response (or over the size cap)
    error,        // the node answered with a JSON-RPC error object
  };
  Kind kind = Kind::unreachable;
  std::int64_t code = 0;   // error: the JSON-RPC error code (1400 = insufficient_balance...)
  std::string message;     // always set: one line for people
  std::string name;        // error: data.name when present ("insufficient_balance")
  std::string detail;      // error: data.detail when present
};

class NodeClient {
 public:
  explicit NodeClient(NodeEndpoint endpoint) : endpoint_(std::move(endpoint)) {}

  // Calls `method` with by-name `params` and returns the `result` member. A non-empty
  // `api_token` is sent as "Authorization: Bearer <token>" (partner methods).
  pc::Result<nlohmann::json, RpcFailure> call(std::string_view method, const nlohmann::json& params,
                                              std::string_view api_token = {});

  const NodeEndpoint& endpoint() const { return endpoint_; }

 private:
  NodeEndpoint endpoint_;
  std::uint64_t next_request_id_ = 1;
};

}  // namespace pc::wallet
