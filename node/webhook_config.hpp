// The partner's webhook endpoints (node.json "webhooks"; docs/webhooks.md): where the node
// POSTs the events of committed blocks, which events each endpoint wants, and the secret its
// deliveries are signed with. Parsed strictly with the rest of node.json (node/config.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace pc::node {

// Stored in the queue's records by number: never renumbered.
enum class WebhookEventType : std::uint8_t {
  earn = 1,             // an Issue by this partner was committed
  redemption = 2,       // a customer redeemed points at this partner
  return_purchase = 3,  // a Reverse by this partner ("return")
  points_expiring = 4,  // points this partner issued expire within expiring_notice_days
  events_dropped = 5,   // not selectable: sent to every endpoint whose queue was full
  voucher_used = 6,     // a UseVoucher by this partner was committed (a till took a voucher)
  tier_changed = 7,     // a customer's coalition tier went up or down (protocol version 4)
  badge_earned = 8,     // a customer earned one of this partner's badges (an Issue or an AwardBadge)
};
inline constexpr std::uint8_t webhook_event_type_max = 8;
// "earn", "redemption", "return", "points_expiring", "events_dropped", "voucher_used",
// "tier_changed", "badge_earned".
std::string_view webhook_event_name(WebhookEventType type);
// The selectable types by name; nullopt for any other name (events_dropped included).
std::optional<WebhookEventType> webhook_event_from_name(std::string_view name);

inline constexpr std::size_t webhook_endpoints_max = 16;
inline constexpr std::size_t webhook_url_bytes_max = 2'048;
inline constexpr std::size_t webhook_secret_bytes_min = 16;
inline constexpr std::size_t webhook_secret_bytes_max = 256;
inline constexpr std::size_t webhook_queue_events_max_max = 1'000'000;

// An http:// URL, split. TLS is not spoken: an https:// URL is refused (docs/webhooks.md says
// how to reach an https receiver through a local proxy).
struct WebhookUrl {
  std::string host;  // a name or an IPv4 address; an IPv6 address without its brackets
  std::uint16_t port = 80;
  std::string target = "/";  // path and query
};
// Error messages name what is wrong ("webhook url must start with http://", ...).
std::optional<WebhookUrl> parse_webhook_url(std::string_view url, std::string& error);

struct WebhookEndpoint {
  std::string url;  // as configured: it also names the endpoint's queue
  WebhookUrl parsed;
  std::set<WebhookEventType> events;
  std::string secret;  // HMAC-SHA-256 key: the bytes of the string as written
  std::size_t queue_events_max = 10'000;
};

struct WebhookSettings {
  std::vector<WebhookEndpoint> endpoints;  // none: webhooks off, no queue is opened
  // points_expiring fires this many days before a lot of this partner's points expires
  // (by block time); meaningful only when the genesis policy lets points expire.
  std::uint32_t expiring_notice_days = 14;
  std::uint64_t retry_initial_ms = 1'000;   // the first retry's delay, before jitter
  std::uint64_t retry_max_ms = 600'000;     // the cap on a retry's delay
  std::uint64_t request_timeout_ms = 10'000;  // connect, send and read the answer
};

// What an endpoint's queue holds now (Node::webhook_status).
struct WebhookEndpointStatus {
  std::string url;
  std::size_t queued = 0;
  std::uint64_t dropped_total = 0;  // over the queue's life (kept in the queue)
};

}  // namespace pc::node
