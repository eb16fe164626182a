// The JSON-RPC 2.0 request handler, apart from the network: a request body in, an HTTP status
// and a response body out. Parsing, batches, params validation, the partner token check, the
// rate limit and the mapping of node results to JSON all live here, so tests drive it
// without sockets. The server (rpc/server.hpp) only moves bytes.
//
// Thread-safety: handle() may be called from any number of threads at once (the node is
// thread-safe, the rate limiter locks, the rest is immutable).
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "node/network_info.hpp"
#include "node/node.hpp"
#include "rpc/errors.hpp"
#include "rpc/limits.hpp"
#include "rpc/rate_limiter.hpp"

namespace pc::rpc {

struct DispatcherOptions {
  RateLimit rate_limit{rate_per_second_default, rate_burst_default};
  // The rate limiter's clock (monotonic ms); tests pass a manual one.
  std::function<std::uint64_t()> now_ms = steady_now_ms;
  // The network as it is now (net_info, /metrics); empty: the node has no network.
  std::function<node::NetworkInfo()> network_info;
  // Answers a body that is only submit_transaction requests without parsing it into a DOM
  // (rpc/submit_scan.hpp), with the same bytes as the general path. Tests turn it off to
  // compare the two.
  bool scan_submissions = true;
};

struct Reply {
  // 200 with a response or batch of responses; 204 when every request was a notification
  // (body empty); 429 when the client is over its rate limit (body: error 4029).
  unsigned status = 200;
  std::string body;
};

// Methods that exist only on a WebSocket connection (subscribe, unsubscribe); the WebSocket
// session implements them and handle() asks it first.
class SessionMethods {
 public:
  virtual ~SessionMethods() = default;
  // nullopt when `method` is not a session method.
  virtual std::optional<MethodResult> call(std::string_view method, const nlohmann::json& params) = 0;

 protected:
  SessionMethods() = default;
  SessionMethods(const SessionMethods&) = default;
  SessionMethods& operator=(const SessionMethods&) = default;
};

class Dispatcher {
 public:
  // Reads the API token from node.config() once. `node` must outlive the dispatcher.
  explicit Dispatcher(node::Node& node, DispatcherOptions options = {});

  // `authorization` is the Authorization header's value ("" when absent); `client_id` keys the
  // rate limit (the client's IP address). Every request of a batch costs one token.
  Reply handle(std::string_view body, std::string_view authorization, std::string_view client_id,
               SessionMethods* session = nullptr);

  // subscribe's params as a node filter: any of {blocks:true}, {account:"pc..."}, {partner:N}
  // (at least one). An unknown partner is application error 1202.
  pc::Result<node::EventFilter, RpcError> subscription_filter(const nlohmann::json& params) const;

  // GET /metrics: the Prometheus text exposition (rpc/metrics.hpp), 200; 429 when the
  // client is over its rate limit (it costs one token, as a request does).
  Reply metrics(std::string_view client_id);

  node::Node& node() { return node_; }

 private:
  struct Context;
  struct Method;

  struct Call;

  // The request's parts, or the error response to a malformed request.
  static pc::Result<Call, nlohmann::json> parse_call(const nlohmann::json& request);
  std::optional<nlohmann::json> handle_one(const nlohmann::json& request, Context& context);
  // Where batch[first] begins a run of two or more consecutive well-formed submit_transaction
  // requests: hands the run to the node as one Node::submit_batch (one writer event, signatures
  // checked across the worker pool) and keeps the outcomes in `context` for handle_one. Same
  // order and outcomes as one by one, without a hand-off to the writer per request. Returns
  // where the run ends (`first` when there is none).
  std::size_t submit_run(const nlohmann::json& batch, std::size_t first, Context& context);
  MethodResult call(std::string_view method, const nlohmann::json& params, Context& context);
  std::optional<RpcError> check_token(std::string_view authorization) const;
  // The fast path for a body of submit_transaction requests only (rpc/submit_scan.hpp):
  // nullopt when the body is not one, or a hex is not valid hex (nothing is done then, the
  // rate limit included, and the general path answers); otherwise the reply, the same bytes
  // as the general path's.
  std::optional<Reply> handle_submissions(std::string_view body, std::string_view client_id);

  MethodResult chain_info(const nlohmann::json& params);
  MethodResult get_block(const nlohmann::json& params);
  MethodResult get_transaction(const nlohmann::json& params);
  MethodResult get_account(const nlohmann::json& params);
  MethodResult submit_transaction(const nlohmann::json& params);
  MethodResult get_partners(const nlohmann::json& params);
  MethodResult get_settlement(const nlohmann::json& params);
  MethodResult get_statement(const nlohmann::json& params);
  MethodResult get_report(const nlohmann::json& params);
  MethodResult get_evidence(const nlohmann::json& params);
  MethodResult net_info(const nlohmann::json& params);
  MethodResult consensus_state(const nlohmann::json& params);
  MethodResult earn(const nlohmann::json& params);
  MethodResult earn_batch(const nlohmann::json& params);
  MethodResult return_purchase(const nlohmann::json& params);
  MethodResult bonus(const nlohmann::json& params);
  MethodResult quote(const nlohmann::json& params);
  MethodResult reload_rules(const nlohmann::json& params);
  MethodResult webhook_status(const nlohmann::json& params);
  MethodResult earn_event(const nlohmann::json& params);
  MethodResult get_referral_code(const nlohmann::json& params);
  // The rewards catalog and vouchers (docs/rpc.md, "Rewards and vouchers").
  MethodResult get_rewards(const nlohmann::json& params);
  MethodResult get_vouchers(const nlohmann::json& params);
  MethodResult publish_reward(const nlohmann::json& params);
  MethodResult get_stamp_cards(const nlohmann::json& params);
  MethodResult get_badges(const nlohmann::json& params);
  MethodResult get_leaderboard(const nlohmann::json& params);
  MethodResult define_stamp_card(const nlohmann::json& params);
  MethodResult define_badge(const nlohmann::json& params);
  MethodResult award_badge(const nlohmann::json& params);
  MethodResult grant_tier(const nlohmann::json& params);
  MethodResult check_voucher(const nlohmann::json& params);
  MethodResult use_voucher(const nlohmann::json& params);
  MethodResult set_point_value(const nlohmann::json& params);
  MethodResult create_payment_request(const nlohmann::json& params);
  MethodResult get_payment_request(const nlohmann::json& params);

  node::Node& node_;
  const std::string api_token_;
  RateLimiter rate_limiter_;
  const std::function<node::NetworkInfo()> network_info_;
  const bool scan_submissions_;
};

}  // namespace pc::rpc
