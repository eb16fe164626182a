// The webhook sender: one thread ("pc-webhooks", Boost.Asio with a Beast HTTP/1.1 client)
// that POSTs each endpoint's queued events (node/webhook_queue.hpp) in queue order, one at a
// time per endpoint, so the writer thread never waits for a receiver.
//
// Each attempt sends the event's stored body with
//   X-Pointchain-Event-Id:  the event id (the same on every attempt)
//   X-Pointchain-Timestamp: the attempt's Unix time in seconds
//   X-Pointchain-Signature: "v1=" and the hex HMAC-SHA-256, keyed by the endpoint's secret,
//                           of timestamp + "." + body (webhook_signature)
// A 2xx answer removes the event; anything else (another status, a refused connection, no
// answer within request_timeout_ms) is retried after a delay that doubles from
// retry_initial_ms up to retry_max_ms, with "equal jitter" (half the delay fixed, half
// random) so endpoints that failed together do not retry together. An event is retried until
// it is delivered: a receiver that never answers 2xx holds its queue, which then fills and
// drops new events (docs/webhooks.md).
//
// Thread-safety: construct and destroy on one thread; the destructor stops the thread (an
// attempt in flight is abandoned, and its event stays queued).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "node/webhook_config.hpp"
#include "node/webhook_queue.hpp"

namespace pc::node {

// "v1=" + lowercase hex HMAC-SHA-256(secret, timestamp + "." + body).
std::string webhook_signature(std::string_view secret, std::string_view timestamp, std::string_view body);

// The delay before retry number `attempt` (1 for the first retry), before jitter:
// min(retry_max_ms, retry_initial_ms * 2^(attempt - 1)).
std::uint64_t webhook_retry_delay_ms(const WebhookSettings& settings, std::uint64_t attempt);

class WebhookSender {
 public:
  // Starts the thread and delivers what `queue` holds; `queue` must outlive the sender.
  WebhookSender(WebhookQueue& queue, const WebhookSettings& settings);
  ~WebhookSender();
  WebhookSender(const WebhookSender&) = delete;
  WebhookSender& operator=(const WebhookSender&) = delete;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pc::node
