// Every limit of the RPC front end, in one place (Tiger Style: a limit on everything).
// docs/rpc.md, "Limits", lists them for clients.
#pragma once

#include <cstddef>
#include <cstdint>

namespace pc::rpc {

// The connection limits, the body size, the timeouts and the thread count are set in
// node.json (node::RpcLimits holds their defaults): an operator sizes them to the machine.
// Requests in one JSON-RPC batch; a larger batch gets one error 4003.
inline constexpr std::size_t batch_count_max = 100;
// Purchases in one earn_batch call.
inline constexpr std::size_t earn_batch_count_max = 1'000;
// Per-client-IP token bucket defaults: sustained requests per second and burst size. Each
// request of a batch costs one token.
inline constexpr std::uint64_t rate_per_second_default = 2'000;
inline constexpr std::uint64_t rate_burst_default = 4'000;
// Client IPs the rate limiter remembers; past this, the least recently seen are forgotten.
inline constexpr std::size_t rate_clients_max = 65'536;
// WebSocket messages from the client.
inline constexpr std::size_t websocket_message_bytes_max = 64 * 1024;
// Notifications queued in the node per subscription before the subscriber is cut off.
inline constexpr std::size_t subscription_queue_max = 1'024;
// Subscriptions one WebSocket connection may hold.
inline constexpr std::size_t subscriptions_per_connection_max = 16;
// Messages waiting to be written to one WebSocket; a client that does not read its
// responses past this is disconnected.
inline constexpr std::size_t websocket_outbox_max = 256;
// get_account history page.
inline constexpr std::size_t history_limit_default = 20;
inline constexpr std::size_t history_limit_max = 100;
// get_account's expiring_within_30_days window.
inline constexpr std::uint64_t expiring_window_days = 30;

}  // namespace pc::rpc
