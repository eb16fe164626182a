#include "node/webhook_sender.hpp"

#include <pthread.h>
#include <sodium.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <array>
#include <chrono>
#include <iostream>
#include <thread>
#include <vector>

#include "crypto/bytes.hpp"
#include "crypto/check.hpp"

namespace pc::node {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

// A receiver's answer is read only to see its status: a body past this is an error.
constexpr std::size_t answer_bytes_max = 64 * 1024;

std::string unix_seconds_now() {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(now).count());
}

// One endpoint's delivery loop: front of the queue, attempt, then the next event or a retry.
// Lives on the sender's thread only; handlers hold it by shared_ptr.
class EndpointWorker : public std::enable_shared_from_this<EndpointWorker> {
 public:
  EndpointWorker(net::io_context& io, WebhookQueue& queue, const WebhookSettings& settings, std::size_t index)
      : io_(io),
        queue_(queue),
        settings_(settings),
        endpoint_(settings.endpoints.at(index)),
        index_(index),
        resolver_(io),
        retry_timer_(io),
        attempt_timer_(io) {}

  // Starts delivering unless it is already busy (in flight or waiting to retry).
  void wake() {
    if (!busy_) next();
  }

 private:
  void next() {
    current_ = queue_.front(index_);
    busy_ = current_.has_value();
    if (busy_) attempt();
  }

  void attempt() {
    PC_CHECK(current_.has_value());
    const std::uint64_t generation = ++generation_;
    const std::string timestamp = unix_seconds_now();
    request_ = {};
    request_.method(http::verb::post);
    request_.target(endpoint_.parsed.target);
    request_.version(11);
    const std::string& host = endpoint_.parsed.host;
    request_.set(http::field::host, (host.find(':') == std::string::npos ? host : "[" + host + "]") + ":" +
                                        std::to_string(endpoint_.parsed.port));
    request_.set(http::field::user_agent, "pointchain-node");
    request_.set(http::field::content_type, "application/json");
    request_.set("X-Pointchain-Event-Id", current_->event_id);
    request_.set("X-Pointchain-Timestamp", timestamp);
    request_.set("X-Pointchain-Signature", webhook_signature(endpoint_.secret, timestamp, current_->body));
    request_.keep_alive(false);
    request_.body() = current_->body;
    request_.prepare_payload();
    parser_.emplace();
    parser_->body_limit(answer_bytes_max);
    buffer_.clear();
    stream_.emplace(io_);

    // One deadline over resolve, connect, write and read.
    attempt_timer_.expires_after(std::chrono::milliseconds(settings_.request_timeout_ms));
    attempt_timer_.async_wait([self = shared_from_this(), generation](beast::error_code error) {
      if (error || generation != self->generation_) return;
      self->timed_out_ = true;
      self->resolver_.cancel();
      if (self->stream_) self->stream_->cancel();
    });
    timed_out_ = false;
    resolver_.async_resolve(
        endpoint_.parsed.host, std::to_string(endpoint_.parsed.port),
        [self = shared_from_this(), generation](beast::error_code error, tcp::resolver::results_type results) {
          if (generation != self->generation_) return;
          if (error) return self->failed("cannot resolve the host: " + error.message());
          self->stream_->async_connect(results, [self, generation](beast::error_code connect_error,
                                                                   const tcp::endpoint&) {
            if (generation != self->generation_) return;
            if (connect_error) return self->failed("cannot connect: " + connect_error.message());
            http::async_write(*self->stream_, self->request_,
                              [self, generation](beast::error_code write_error, std::size_t) {
                                if (generation != self->generation_) return;
                                if (write_error) return self->failed("cannot send: " + write_error.message());
                                http::async_read(*self->stream_, self->buffer_, *self->parser_,
                                                 [self, generation](beast::error_code read_error, std::size_t) {
                                                   if (generation != self->generation_) return;
                                                   self->answered(read_error);
                                                 });
                              });
          });
        });
  }

  void answered(beast::error_code error) {
    if (error) return failed("no answer: " + error.message());
    const unsigned status = parser_->get().result_int();
    if (status < 200 || status > 299) return failed("answered HTTP " + std::to_string(status));
    finish_attempt();
    if (failed_attempts_ > 0) {
      std::cerr << "pointchain-node: webhook " << endpoint_.url << ": delivered " << current_->event_id << " after "
                << failed_attempts_ << " failed attempts\n";
    }
    failed_attempts_ = 0;
    (void)queue_.delivered(*current_);
    current_.reset();
    busy_ = false;
    // Through the io_context, so a long queue does not deepen the stack.
    net::post(io_, [self = shared_from_this()] { self->wake(); });
  }

  void failed(const std::string& reason) {
    finish_attempt();
    ++failed_attempts_;
    const std::uint64_t delay_ms = webhook_retry_delay_ms(settings_, failed_attempts_);
    // Equal jitter: half fixed, half uniform. delay_ms is at most a day, well within u32.
    const std::uint64_t half = delay_ms / 2;
    const std::uint64_t jittered_ms = half + randombytes_uniform(static_cast<std::uint32_t>(delay_ms - half + 1));
    if (failed_attempts_ == 1) {
      std::cerr << "pointchain-node: webhook " << endpoint_.url << ": " << current_->event_id << " not delivered ("
                << (timed_out_ ? "timed out" : reason) << "); retrying with backoff up to "
                << settings_.retry_max_ms << " ms\n";
    }
    retry_timer_.expires_after(std::chrono::milliseconds(jittered_ms));
    retry_timer_.async_wait([self = shared_from_this()](beast::error_code error) {
      if (!error) self->attempt();
    });
  }

  void finish_attempt() {
    ++generation_;  // late handlers of this attempt now do nothing
    attempt_timer_.cancel();
    if (stream_) {
      beast::error_code ignored;
      stream_->socket().shutdown(tcp::socket::shutdown_both, ignored);
      stream_->close();
      stream_.reset();
    }
  }

  net::io_context& io_;
  WebhookQueue& queue_;
  const WebhookSettings& settings_;
  const WebhookEndpoint& endpoint_;
  const std::size_t index_;
  tcp::resolver resolver_;
  net::steady_timer retry_timer_;
  net::steady_timer attempt_timer_;
  std::optional<beast::tcp_stream> stream_;
  http::request<http::string_body> request_;
  std::optional<http::response_parser<http::string_body>> parser_;
  beast::flat_buffer buffer_;
  std::optional<WebhookDelivery> current_;
  std::uint64_t generation_ = 0;
  std::uint64_t failed_attempts_ = 0;
  bool busy_ = false;
  bool timed_out_ = false;
};

}  // namespace

std::string webhook_signature(std::string_view secret, std::string_view timestamp, std::string_view body) {
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(secret.data()), secret.size());
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(timestamp.data()), timestamp.size());
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>("."), 1);
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(body.data()), body.size());
  std::array<std::uint8_t, crypto_auth_hmacsha256_BYTES> mac{};
  crypto_auth_hmacsha256_final(&state, mac.data());
  return "v1=" + to_hex(ByteSpan(mac.data(), mac.size()));
}

std::uint64_t webhook_retry_delay_ms(const WebhookSettings& settings, std::uint64_t attempt) {
  std::uint64_t delay_ms = settings.retry_initial_ms;
  for (std::uint64_t i = 1; i < attempt && delay_ms < settings.retry_max_ms; ++i) delay_ms *= 2;
  return std::min(delay_ms, settings.retry_max_ms);
}

class WebhookSender::Impl {
 public:
  Impl(WebhookQueue& queue, const WebhookSettings& settings)
      : queue_(queue), settings_(settings), work_(net::make_work_guard(io_)) {
    for (std::size_t i = 0; i < settings_.endpoints.size(); ++i) {
      workers_.push_back(std::make_shared<EndpointWorker>(io_, queue_, settings_, i));
    }
    queue_.set_wake([this] { net::post(io_, [this] { wake_all(); }); });
    net::post(io_, [this] { wake_all(); });
    thread_ = std::thread([this] { io_.run(); });
    pthread_setname_np(thread_.native_handle(), "pc-webhooks");
  }

  ~Impl() {
    queue_.set_wake(nullptr);
    io_.stop();
    thread_.join();
    // The workers' handlers still queued in io_ hold them; they go with io_, after this.
    workers_.clear();
  }

 private:
  void wake_all() {
    for (const auto& worker : workers_) worker->wake();
  }

  WebhookQueue& queue_;
  const WebhookSettings settings_;
  net::io_context io_;
  net::executor_work_guard<net::io_context::executor_type> work_;
  std::vector<std::shared_ptr<EndpointWorker>> workers_;
  std::thread thread_;
};

WebhookSender::WebhookSender(WebhookQueue& queue, const WebhookSettings& settings)
    : impl_(std::make_unique<Impl>(queue, settings)) {}

WebhookSender::~WebhookSender() = default;

}  // namespace pc::node
