// A webhook receiver for tests: a small HTTP/1.1 server over POSIX sockets on 127.0.0.1 that
// records every request and answers each with the status the test sets (200 by default). It
// can be closed and opened again on the same port, as a receiver that goes down and comes
// back. Its thread polls with a short timeout, so stopping never waits for a client.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace pc::test {

struct ReceivedRequest {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  int answered_status = 0;
  std::string header(const std::string& name) const {
    auto found = headers.find(name);
    return found == headers.end() ? std::string() : found->second;
  }
};

class WebhookReceiver {
 public:
  // Listens on a free loopback port at once.
  WebhookReceiver();
  ~WebhookReceiver();
  WebhookReceiver(const WebhookReceiver&) = delete;
  WebhookReceiver& operator=(const WebhookReceiver&) = delete;

  std::uint16_t port() const { return port_; }
  std::string url(const std::string& target = "/hooks") const {
    return "http://127.0.0.1:" + std::to_string(port_) + target;
  }
  // The status the next requests get.
  void answer_with(int status) { status_ = status; }
  // Stops listening (connections are refused), and listens again on the same port.
  void close();
  void open();

  std::vector<ReceivedRequest> requests() const;
  // Waits until `done(requests())` holds or `timeout` passes; returns whether it held.
  bool wait_until(const std::function<bool(const std::vector<ReceivedRequest>&)>& done,
                  std::chrono::milliseconds timeout) const;

 private:
  void listen();
  void serve();
  void handle(int client_fd);

  std::uint16_t port_ = 0;
  int listen_fd_ = -1;
  std::atomic<int> status_{200};
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  mutable std::mutex mutex_;
  std::vector<ReceivedRequest> requests_;  // guarded by mutex_
};

// The signature a receiver computes, with libsodium directly (not the node's code):
// "v1=" + hex HMAC-SHA-256(secret, timestamp + "." + body).
std::string expected_webhook_signature(const std::string& secret, const std::string& timestamp,
                                       const std::string& body);

}  // namespace pc::test
