// The RPC server: HTTP/1.1 with keep-alive and WebSocket subscriptions on one TCP port, on a
// Boost.Asio io_context run by a few named threads ("pc-rpc-0", ...). It moves bytes and
// enforces the transport limits of rpc/limits.hpp and node.json's rpc_limits; every request
// goes to a Dispatcher.
//
//   POST /        JSON-RPC 2.0 (single or batch)         200, 204, 413 (4013), 429 (4029)
//   GET  /metrics the Prometheus text exposition (rpc/metrics.hpp)  200, 429
//   GET  /health  "ok"                                   200
//                 "storage failure: ..." after a failed block write (Node::storage_failure)  503
//   GET  /ws      WebSocket upgrade: JSON-RPC plus subscribe / unsubscribe and notifications
//   malformed     HTTP framing the parser refuses         400 (4000), then the connection closes
//   otherwise     404
//
// Each connection runs on its own strand. A connection from an address that already holds
// connections_per_address_max is accepted and closed at once. At connections_max, the HTTP
// connection that has waited longest for its next request is closed to admit the new one
// (a client may close an idle keep-alive connection at any time, RFC 9112 9.6, so this costs
// an honest client one reconnect, while clients holding idle connections can no longer lock
// everyone out); with none idle, the new one is closed at once. A WebSocket subscriber whose
// node queue overflowed receives a final error
// notification and the connection closes. Partner methods over WebSocket use the
// Authorization header of the upgrade request.
//
// Thread-safety: start(), stop() and port() are for the owning thread.
#pragma once

#include <cstdint>
#include <memory>

#include "node/node.hpp"
#include "rpc/dispatcher.hpp"
#include "rpc/limits.hpp"

namespace pc::rpc {

struct ServerOptions {
  DispatcherOptions dispatcher;  // the per-client-IP rate limit and its clock
  node::RpcLimits limits;        // connections, body size, timeouts, threads
};

// The options node.json asks for: its rate limit and its rpc_limits.
ServerOptions server_options_from_config(const node::NodeConfig& config);

class Server {
 public:
  // Listens on node.config().rpc_address and rpc_port (0: any free port; see port()).
  // `node` must outlive the server.
  Server(node::Node& node, ServerOptions options);
  ~Server();  // stop()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds, listens and starts the threads. Throws std::runtime_error when the address cannot
  // be bound (start-up error). Call once.
  void start();
  // Closes the listener and every connection, cancels the subscriptions and joins the
  // threads. Idempotent; a stopped server does not start again.
  void stop();
  // The bound port, once started.
  std::uint16_t port() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

std::unique_ptr<Server> make_server(node::Node& node, const ServerOptions& options);

}  // namespace pc::rpc
