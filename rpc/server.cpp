#include "rpc/server.hpp"

#include <pthread.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <deque>
#include <iostream>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "rpc/json_views.hpp"
#include "rpc/metrics.hpp"
#include "rpc/params.hpp"

namespace pc::rpc {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using nlohmann::json;

namespace {

// After a 413 the server reads and discards what the client is still sending, for a while,
// so that closing does not reset the connection before the client has read the answer.
constexpr std::uint64_t linger_ms = 5'000;
constexpr std::size_t linger_bodies_max = 2;  // bytes discarded, in request bodies
constexpr std::uint64_t websocket_handshake_timeout_ms = 30'000;
constexpr std::uint64_t accept_retry_ms = 100;
// Notifications taken from one subscription per turn, and the outbox size below which the
// session takes more: the node's queue, not the outbox, absorbs a slow reader.
constexpr std::size_t notifications_per_take = 64;
constexpr std::size_t outbox_refill_below = 32;

// When a connection started waiting for its next request (steady clock ticks), for choosing
// which one to close at the connection limit; 0 while it is busy, and evicted once chosen.
using IdleSince = std::int64_t;
constexpr IdleSince busy = 0;
constexpr IdleSince evicted = -1;

class Session {
 public:
  virtual ~Session() = default;
  // Closes the socket and drops subscriptions. Only while no thread runs the io_context.
  virtual void close_now() = 0;
  // busy, or when the session began waiting for a request. Any thread.
  virtual IdleSince idle_since() const { return busy; }
  // Closes the session if it is still idle since `since`; false when it is not. Any thread.
  virtual bool evict_if_idle_since(IdleSince /*since*/) { return false; }

 protected:
  Session() = default;
  Session(const Session&) = default;
  Session& operator=(const Session&) = default;
};

// What every session needs from the server. Outlives the io_context, so sessions destroyed
// with it can still unregister.
struct Shared {
  Shared(node::Node& node_in, const ServerOptions& options)
      : node(node_in), dispatcher(node_in, options.dispatcher), limits(options.limits) {}

  node::Node& node;
  Dispatcher dispatcher;
  const node::RpcLimits limits;
  std::atomic<std::size_t> connections{0};

  std::size_t connections_from(const std::string& address) {
    std::lock_guard lock(addresses_mutex);
    const auto found = connections_by_address.find(address);
    return found == connections_by_address.end() ? 0 : found->second;
  }
  void count_connection(const std::string& address, bool opened) {
    std::lock_guard lock(addresses_mutex);
    if (opened) {
      ++connections_by_address[address];
    } else if (--connections_by_address[address] == 0) {
      connections_by_address.erase(address);
    }
  }

  // Closes the HTTP connection that has waited longest for its next request; false when
  // none is idle. A session that turns busy meanwhile is skipped and the next one tried.
  bool evict_oldest_idle() {
    for (std::size_t attempt = 0; attempt < eviction_attempts_max; ++attempt) {
      std::shared_ptr<Session> oldest;
      IdleSince oldest_since = 0;
      for (const std::shared_ptr<Session>& session : live_sessions()) {
        const IdleSince since = session->idle_since();
        if (since > 0 && (!oldest || since < oldest_since)) {
          oldest = session;
          oldest_since = since;
        }
      }
      if (!oldest) return false;
      if (oldest->evict_if_idle_since(oldest_since)) return true;
    }
    return false;
  }

  std::uint64_t add_session(const std::weak_ptr<Session>& session) {
    std::lock_guard lock(sessions_mutex);
    const std::uint64_t id = next_session_id++;
    sessions.emplace(id, session);
    return id;
  }
  void remove_session(std::uint64_t id) {
    std::lock_guard lock(sessions_mutex);
    sessions.erase(id);
  }
  std::vector<std::shared_ptr<Session>> live_sessions() {
    std::lock_guard lock(sessions_mutex);
    std::vector<std::shared_ptr<Session>> live;
    for (const auto& [id, weak] : sessions) {
      if (auto session = weak.lock()) live.push_back(std::move(session));
    }
    return live;
  }

 private:
  static constexpr std::size_t eviction_attempts_max = 4;
  std::mutex sessions_mutex;
  std::map<std::uint64_t, std::weak_ptr<Session>> sessions;  // guarded by sessions_mutex
  std::uint64_t next_session_id = 1;                         // guarded by sessions_mutex
  std::mutex addresses_mutex;
  std::map<std::string, std::size_t> connections_by_address;  // guarded by addresses_mutex
};

// Counts one open connection, in total and for its client address, while it lives; moves
// from the HTTP to the WebSocket session.
class ConnectionSlot {
 public:
  ConnectionSlot(Shared& shared, std::string address) : shared_(&shared), address_(std::move(address)) {
    ++shared_->connections;
    shared_->count_connection(address_, true);
  }
  ConnectionSlot(ConnectionSlot&& other) noexcept
      : shared_(std::exchange(other.shared_, nullptr)), address_(std::move(other.address_)) {}
  ConnectionSlot& operator=(ConnectionSlot&&) = delete;
  ConnectionSlot(const ConnectionSlot&) = delete;
  ConnectionSlot& operator=(const ConnectionSlot&) = delete;
  ~ConnectionSlot() {
    if (shared_ == nullptr) return;
    shared_->count_connection(address_, false);
    --shared_->connections;
  }

 private:
  Shared* shared_;
  std::string address_;
};

std::chrono::milliseconds ms(std::uint64_t value) {
  return std::chrono::milliseconds(static_cast<std::chrono::milliseconds::rep>(value));
}

std::string remote_ip(const tcp::socket& socket) {
  beast::error_code error;
  const tcp::endpoint endpoint = socket.remote_endpoint(error);
  return error ? std::string("unknown") : endpoint.address().to_string();
}

// ---- WebSocket ----

class WebSocketSession;

// The bridge from the node's producing thread to a session's strand. The session closes it
// before going away, and the node's wakeup call then does nothing; while it is open, posting
// to the strand is safe because the io_context outlives every session.
class Waker {
 public:
  Waker(net::any_io_executor executor, std::weak_ptr<WebSocketSession> session)
      : executor_(std::move(executor)), session_(std::move(session)) {}
  void wake();
  void close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
  }
  // The session is about to take what is queued: later notifications need a new post.
  void taken() {
    std::lock_guard lock(mutex_);
    posted_ = false;
  }

 private:
  std::mutex mutex_;
  net::any_io_executor executor_;
  std::weak_ptr<WebSocketSession> session_;
  bool closed_ = false;  // guarded by mutex_
  bool posted_ = false;  // guarded by mutex_: a pump is already on its way
};

class WebSocketSession final : public Session,
                               public SessionMethods,
                               public std::enable_shared_from_this<WebSocketSession> {
 public:
  WebSocketSession(tcp::socket&& socket, Shared& shared, ConnectionSlot slot, std::string client_ip)
      : ws_(std::move(socket)), shared_(shared), slot_(std::move(slot)), client_ip_(std::move(client_ip)) {}

  ~WebSocketSession() override {
    drop_subscriptions();
    shared_.remove_session(registry_id_);
  }

  void start(http::request<http::string_body>&& upgrade) {
    registry_id_ = shared_.add_session(weak_from_this());
    waker_ = std::make_shared<Waker>(ws_.get_executor(), weak_from_this());
    upgrade_ = std::move(upgrade);
    authorization_ = std::string(upgrade_[http::field::authorization]);
    // The WebSocket layer keeps its own timers: handshake, and pings on an idle connection.
    beast::get_lowest_layer(ws_).expires_never();
    ws_.set_option(websocket::stream_base::timeout{ms(websocket_handshake_timeout_ms), ms(shared_.limits.idle_timeout_ms),
                                                   /*keep_alive_pings=*/true});
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& response) { response.set(http::field::server, "pointchain"); }));
    ws_.read_message_max(websocket_message_bytes_max);
    ws_.async_accept(upgrade_, beast::bind_front_handler(&WebSocketSession::on_accept, shared_from_this()));
  }

  void close_now() override {
    drop_subscriptions();
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().close(ignored);
  }

  // subscribe and unsubscribe; runs on the strand, inside Dispatcher::handle.
  std::optional<MethodResult> call(std::string_view method, const json& params) override {
    if (method == "subscribe") return subscribe(params);
    if (method == "unsubscribe") return unsubscribe(params);
    return std::nullopt;
  }

  // Moves queued notifications into the outbox; runs on the strand.
  void pump() {
    if (closing_) return;
    waker_->taken();
    for (auto& [id, subscription] : subscriptions_) {
      if (outbox_.size() >= outbox_refill_below) break;
      const std::vector<node::Notification> batch = subscription->take(notifications_per_take);
      for (const node::Notification& notification : batch) outbox_.push_back(serialize(notification_json(id, notification)));
      if (batch.empty() && subscription->overflowed()) {
        outbox_.push_back(serialize(overflow_notification_json(id)));
        closing_ = true;
        break;
      }
    }
    write_next();
  }

 private:
  MethodResult subscribe(const json& params) {
    auto filter = shared_.dispatcher.subscription_filter(params);
    if (!filter) return filter.error();
    if (subscriptions_.size() >= subscriptions_per_connection_max) {
      return application_error({ledger::Code::too_large, "at most " + std::to_string(subscriptions_per_connection_max) +
                                                             " subscriptions per connection"});
    }
    std::shared_ptr<node::Subscription> subscription = shared_.node.subscribe(*filter, subscription_queue_max);
    if (!subscription) {
      return application_error({ledger::Code::too_large, "the node has its maximum of " +
                                                             std::to_string(node::Node::subscriptions_max) +
                                                             " subscriptions open"});
    }
    subscription->set_wakeup([waker = waker_] { waker->wake(); });
    const std::uint64_t id = next_subscription_id_++;
    subscriptions_.emplace(id, std::move(subscription));
    return json{{"subscription", id}};
  }

  MethodResult unsubscribe(const json& params) {
    Params reader(params, {"subscription"});
    const std::uint64_t id = reader.unsigned_integer("subscription");
    if (reader.error()) return *reader.error();
    const auto found = subscriptions_.find(id);
    if (found == subscriptions_.end()) {
      return RpcError{error_code::not_found, "not found: no subscription " + std::to_string(id) + " on this connection",
                      nullptr};
    }
    found->second->set_wakeup({});
    shared_.node.unsubscribe(found->second);
    subscriptions_.erase(found);
    return json(true);
  }

  void drop_subscriptions() {
    if (waker_) waker_->close();
    for (auto& [id, subscription] : subscriptions_) {
      subscription->set_wakeup({});
      shared_.node.unsubscribe(subscription);
    }
    subscriptions_.clear();
  }

  void on_accept(beast::error_code error) {
    if (error) return;
    do_read();
  }

  void do_read() { ws_.async_read(buffer_, beast::bind_front_handler(&WebSocketSession::on_read, shared_from_this())); }

  void on_read(beast::error_code error, std::size_t) {
    if (error) return;  // closed, timed out, or a message over the limit: the session ends
    const std::string text = beast::buffers_to_string(buffer_.data());
    buffer_.consume(buffer_.size());
    Reply reply = shared_.dispatcher.handle(text, authorization_, client_ip_, this);
    if (!reply.body.empty()) outbox_.push_back(std::move(reply.body));
    if (outbox_.size() > websocket_outbox_max) {
      // The client sends requests without reading the answers.
      close_now();
      return;
    }
    write_next();
    do_read();
  }

  void write_next() {
    if (writing_) return;
    if (outbox_.empty()) {
      if (closing_) start_close();
      return;
    }
    writing_ = true;
    ws_.text(true);
    ws_.async_write(net::buffer(outbox_.front()),
                    beast::bind_front_handler(&WebSocketSession::on_write, shared_from_this()));
  }

  void on_write(beast::error_code error, std::size_t) {
    writing_ = false;
    if (error) return;
    outbox_.pop_front();
    if (outbox_.empty() && !closing_) {
      pump();  // takes what arrived meanwhile and writes it
      return;
    }
    write_next();
  }

  void start_close() {
    if (close_started_) return;
    close_started_ = true;
    drop_subscriptions();
    ws_.async_close(websocket::close_reason(websocket::close_code::policy_error, "subscription queue overflowed"),
                    [self = shared_from_this()](beast::error_code) {});
  }

  websocket::stream<beast::tcp_stream> ws_;
  Shared& shared_;
  ConnectionSlot slot_;
  const std::string client_ip_;
  std::uint64_t registry_id_ = 0;
  std::shared_ptr<Waker> waker_;
  http::request<http::string_body> upgrade_;
  std::string authorization_;
  beast::flat_buffer buffer_;
  // The rest is touched only on the session's strand (or with no io thread running).
  std::deque<std::string> outbox_;
  bool writing_ = false;
  bool closing_ = false;        // an overflow: flush the outbox, then close
  bool close_started_ = false;
  std::map<std::uint64_t, std::shared_ptr<node::Subscription>> subscriptions_;
  std::uint64_t next_subscription_id_ = 1;
};

void Waker::wake() {
  std::lock_guard lock(mutex_);
  if (closed_ || posted_) return;
  posted_ = true;
  net::post(executor_, [session = session_] {
    if (auto alive = session.lock()) alive->pump();
  });
}

// ---- HTTP ----

class HttpSession final : public Session, public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(tcp::socket&& socket, Shared& shared, std::string client_ip)
      : stream_(std::move(socket)), shared_(shared), slot_(shared, client_ip), client_ip_(std::move(client_ip)) {}

  ~HttpSession() override { shared_.remove_session(registry_id_); }

  void start() {
    registry_id_ = shared_.add_session(weak_from_this());
    net::dispatch(stream_.get_executor(), beast::bind_front_handler(&HttpSession::do_read, shared_from_this()));
  }

  void close_now() override {
    beast::error_code ignored;
    stream_.socket().close(ignored);
  }

  IdleSince idle_since() const override { return idle_since_.load(); }

  bool evict_if_idle_since(IdleSince since) override {
    if (since <= 0 || !idle_since_.compare_exchange_strong(since, evicted)) return false;
    net::post(stream_.get_executor(), [self = shared_from_this()] { self->close_now(); });
    return true;
  }

 private:
  void do_read() {
    parser_.emplace();
    parser_->body_limit(shared_.limits.body_bytes_max);
    stream_.expires_after(ms(shared_.limits.idle_timeout_ms));
    // Never 0 (busy), even for a clock that starts at its epoch.
    idle_since_ = std::max<IdleSince>(1, std::chrono::steady_clock::now().time_since_epoch().count());
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&HttpSession::on_header, shared_from_this()));
  }

  void on_header(beast::error_code error, std::size_t) {
    if (idle_since_.exchange(busy) == evicted) return;  // closed to admit another connection
    if (error) return on_read_error(error);
    const auto& request = parser_->get();
    if (beast::iequals(request[http::field::expect], "100-continue") && !websocket::is_upgrade(request)) {
      // curl sends this before a large body and waits for the go-ahead.
      continue_response_ = http::response<http::empty_body>{http::status::continue_, request.version()};
      stream_.expires_after(ms(shared_.limits.write_timeout_ms));
      http::async_write(stream_, continue_response_, [self = shared_from_this()](beast::error_code write_error, std::size_t) {
        if (write_error) return;
        self->read_body();
      });
      return;
    }
    read_body();
  }

  void read_body() {
    stream_.expires_after(ms(shared_.limits.idle_timeout_ms));
    http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&HttpSession::on_read, shared_from_this()));
  }

  void on_read_error(beast::error_code error) {
    if (error == http::error::end_of_stream) {
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      return;
    }
    if (error == http::error::body_limit) {
      send(413, error_response_body(RpcError{error_code::request_too_large,
                                             "request too large: the body is over " +
                                                 std::to_string(shared_.limits.body_bytes_max) + " bytes",
                                             nullptr}),
           "application/json", /*keep_alive=*/false, /*linger=*/true);
      return;
    }
    if (is_framing_error(error)) {
      // The request cannot be read, so neither can the next one on this connection: answer,
      // then close. Silence would leave the client unable to tell a bad request from a crash.
      send(400, error_response_body(RpcError{error_code::bad_http_request, "bad HTTP request: " + error.message(),
                                             nullptr}),
           "application/json", /*keep_alive=*/false, /*linger=*/true);
      return;
    }
    // A timeout, a reset, a header over its limit or a request cut short: the connection ends.
  }

  // What Beast's parser reports for a request line, header field, length or chunk that is
  // not HTTP/1.1: a Content-Length past 2^64, negative or repeated with another value, one
  // together with chunked, a bad chunk size, and the like.
  static bool is_framing_error(const beast::error_code& error) {
    static constexpr std::array framing_errors{
        http::error::bad_line_ending,       http::error::bad_method,   http::error::bad_target,
        http::error::bad_version,           http::error::bad_field,    http::error::bad_value,
        http::error::bad_content_length,    http::error::bad_transfer_encoding, http::error::bad_chunk,
        http::error::bad_chunk_extension,   http::error::bad_obs_fold};
    return std::any_of(framing_errors.begin(), framing_errors.end(),
                       [&](http::error framing) { return error == framing; });
  }

  void on_read(beast::error_code error, std::size_t) {
    if (error) return on_read_error(error);
    http::request<http::string_body>& request = parser_->get();
    if (websocket::is_upgrade(request)) {
      if (request.target() != "/ws") {
        send(404, "not found\n", "text/plain", false, false);
        return;
      }
      auto session = std::make_shared<WebSocketSession>(stream_.release_socket(), shared_, std::move(slot_), client_ip_);
      session->start(parser_->release());
      return;
    }
    const bool keep_alive = request.keep_alive();
    if (request.method() == http::verb::post && request.target() == "/") {
      Reply reply = shared_.dispatcher.handle(request.body(), request[http::field::authorization], client_ip_);
      send(reply.status, std::move(reply.body), "application/json", keep_alive, false);
    } else if (request.method() == http::verb::get && request.target() == "/metrics") {
      Reply reply = shared_.dispatcher.metrics(client_ip_);
      send(reply.status, std::move(reply.body), reply.status == 200 ? metrics_content_type : "application/json",
           keep_alive, false);
    } else if (request.method() == http::verb::get && request.target() == "/health") {
      if (auto failure = shared_.node.storage_failure()) {
        send(503, "storage failure: block production has stopped: " + failure->reason + "\n", "text/plain",
             keep_alive, false);
      } else {
        send(200, "ok", "text/plain", keep_alive, false);
      }
    } else {
      send(404, "not found\n", "text/plain", keep_alive, false);
    }
  }

  void send(unsigned status, std::string body, std::string_view content_type, bool keep_alive, bool linger) {
    response_ = {};
    response_.result(status);
    response_.version(11);
    response_.set(http::field::server, "pointchain");
    if (status == 429) response_.set(http::field::retry_after, "1");
    if (status != 204) response_.set(http::field::content_type, content_type);
    response_.keep_alive(keep_alive);
    response_.body() = std::move(body);
    response_.prepare_payload();
    stream_.expires_after(ms(shared_.limits.write_timeout_ms));
    http::async_write(stream_, response_,
                      [self = shared_from_this(), keep_alive, linger](beast::error_code error, std::size_t) {
                        if (error) return;
                        if (linger) return self->linger_then_close();
                        if (!keep_alive) {
                          beast::error_code ignored;
                          self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
                          return;
                        }
                        self->do_read();
                      });
  }

  void linger_then_close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(ms(linger_ms));
    discard_more();
  }

  void discard_more() {
    stream_.async_read_some(net::buffer(discard_),
                            [self = shared_from_this()](beast::error_code error, std::size_t bytes) {
                              self->lingered_bytes_ += bytes;
                              if (error || self->lingered_bytes_ > linger_bodies_max * self->shared_.limits.body_bytes_max) {
                                return self->close_now();
                              }
                              self->discard_more();
                            });
  }

  beast::tcp_stream stream_;
  Shared& shared_;
  ConnectionSlot slot_;
  const std::string client_ip_;
  std::uint64_t registry_id_ = 0;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::empty_body> continue_response_;
  http::response<http::string_body> response_;
  std::array<char, 16 * 1024> discard_{};
  std::size_t lingered_bytes_ = 0;
  std::atomic<IdleSince> idle_since_{busy};
};

void name_this_thread(const std::string& name) { pthread_setname_np(pthread_self(), name.substr(0, 15).c_str()); }

}  // namespace

// ---- Server ----

class Server::Impl {
 public:
  Impl(node::Node& node, const ServerOptions& options)
      : options_(options), shared_(node, options), acceptor_(io_), accept_retry_(io_) {}

  ~Impl() { stop(); }

  void start() {
    if (started_) throw std::logic_error("rpc server started twice");
    started_ = true;
    const node::NodeConfig& config = shared_.node.config();
    beast::error_code error;
    const net::ip::address address = net::ip::make_address(config.rpc_address, error);
    if (error) throw std::runtime_error("rpc: bad rpc_address " + config.rpc_address + ": " + error.message());
    const tcp::endpoint endpoint{address, config.rpc_port};
    acceptor_.open(endpoint.protocol(), error);
    if (!error) acceptor_.set_option(net::socket_base::reuse_address(true), error);
    if (!error) acceptor_.bind(endpoint, error);
    if (!error) acceptor_.listen(net::socket_base::max_listen_connections, error);
    if (error) {
      throw std::runtime_error("rpc: cannot listen on " + config.rpc_address + ":" +
                               std::to_string(config.rpc_port) + ": " + error.message());
    }
    port_ = acceptor_.local_endpoint().port();
    do_accept();
    const std::size_t thread_count = std::max<std::size_t>(options_.limits.threads, 1);
    for (std::size_t i = 0; i < thread_count; ++i) {
      threads_.emplace_back([this, i] {
        name_this_thread("pc-rpc-" + std::to_string(i));
        run();
      });
    }
  }

  void stop() {
    if (!started_ || stopped_) return;
    stopped_ = true;
    // Stop the threads first, so that what follows runs with nobody else touching a session.
    io_.stop();
    for (std::thread& thread : threads_) thread.join();
    threads_.clear();
    beast::error_code ignored;
    acceptor_.close(ignored);
    accept_retry_.cancel();
    for (const std::shared_ptr<Session>& session : shared_.live_sessions()) session->close_now();
    // Handlers still queued hold the sessions; they go with io_, before shared_.
  }

  std::uint16_t port() const { return port_; }

 private:
  void run() {
    for (;;) {
      try {
        io_.run();
        return;
      } catch (const std::exception& error) {
        // One connection's failure (out of memory while answering) must not end the server.
        std::cerr << "pointchain-node: rpc: " << error.what() << "\n";
      }
    }
  }

  void do_accept() {
    acceptor_.async_accept(net::make_strand(io_), [this](beast::error_code error, tcp::socket socket) {
      if (!acceptor_.is_open()) return;
      if (error) {
        // Out of file descriptors and the like: try again shortly instead of spinning.
        accept_retry_.expires_after(ms(accept_retry_ms));
        accept_retry_.async_wait([this](beast::error_code wait_error) {
          if (!wait_error) do_accept();
        });
        return;
      }
      std::string address = remote_ip(socket);
      const node::RpcLimits& limits = options_.limits;
      // At the total limit an idle connection makes room; its slot frees once its strand has
      // closed it, so the total can pass the limit by the evictions in flight, for that moment.
      const bool admitted = shared_.connections_from(address) < limits.connections_per_address_max &&
                            (shared_.connections.load() < limits.connections_max || shared_.evict_oldest_idle());
      if (admitted) {
        std::make_shared<HttpSession>(std::move(socket), shared_, std::move(address))->start();
      } else {
        beast::error_code ignored;
        socket.close(ignored);
      }
      do_accept();
    });
  }

  const ServerOptions options_;
  Shared shared_;  // before io_: sessions destroyed with io_ still use it
  net::io_context io_;
  tcp::acceptor acceptor_;
  net::steady_timer accept_retry_;
  std::vector<std::thread> threads_;
  std::uint16_t port_ = 0;
  bool started_ = false;
  bool stopped_ = false;
};

ServerOptions server_options_from_config(const node::NodeConfig& config) {
  ServerOptions options;
  options.dispatcher.rate_limit = RateLimit{config.rpc_rate_requests_per_second, config.rpc_rate_burst_requests};
  options.limits = config.rpc_limits;
  return options;
}

Server::Server(node::Node& node, ServerOptions options) : impl_(std::make_unique<Impl>(node, options)) {}
Server::~Server() = default;
void Server::start() { impl_->start(); }
void Server::stop() { impl_->stop(); }
std::uint16_t Server::port() const { return impl_->port(); }

std::unique_ptr<Server> make_server(node::Node& node, const ServerOptions& options) {
  return std::make_unique<Server>(node, options);
}

}  // namespace pc::rpc
