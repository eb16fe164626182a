// A scanner for the commonest request body a node takes: a JSON-RPC batch of
// submit_transaction requests (or one such request), as tills, wallets and
// pointchain-bench-rpc send them. The general path parses every body into a nlohmann DOM,
// checks each request and prints each answer through another DOM; for a batch of 50
// transactions that was about a third of the RPC threads' CPU besides the signature checks.
// The scanner reads such a body in one pass without building anything, so that the dispatcher
// can hand the transactions to the node and write the answers directly.
//
// It accepts only a strict subset of JSON whose meaning is plain, and says nullopt for
// everything else (another method, an escape sequence, a duplicate or unknown member, an id
// that is a float, non-ASCII text, an empty batch, a batch over its limit...): the caller then
// takes the general path, which gives those bodies their answers and errors as before. So the
// scanner decides only which path answers, never what the answer is. Thread-safe: a pure
// function.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

namespace pc::rpc {

struct ScannedSubmit {
  // The request's id as the general path prints it in the answer, byte for byte: an integer
  // (at most 18 digits, so it fits std::int64_t, and no "-0"), a string with its quotes (of
  // printable ASCII without quote or backslash, which the printer copies as it is), or null.
  // Empty for a notification (no id member): it gets no answer.
  std::string_view id_json;
  // params.hex as written between its quotes: only the characters 0-9, a-f and A-F, but not
  // checked to be of even length (pc::from_hex decides).
  std::string_view hex;
};

struct ScannedSubmits {
  // The body was a JSON array (a batch, answered with an array), not a single request.
  bool batch = false;
  // In the body's order; at least one, at most the caller's requests_max.
  std::vector<ScannedSubmit> requests;
};

// Accepts exactly: optional JSON whitespace, then either one request object or an array of
// 1..requests_max of them separated by commas, then optional whitespace and the end of the
// body. A request object has each of the members "jsonrpc":"2.0",
// "method":"submit_transaction" and "params":{"hex":"<hex digits>"} exactly once, and "id"
// at most once, in any order, with JSON whitespace between tokens; member names without
// escapes. nullopt for anything else.
std::optional<ScannedSubmits> scan_submit_requests(std::string_view body, std::size_t requests_max);

}  // namespace pc::rpc
