// A fake Pointchain node on loopback, for testing what the wallet does with answers a real
// node would never send: oversized, badly framed, or lying about balances and proofs. It
// serves one HTTP request per connection on 127.0.0.1 (a free port) from one thread, records
// which JSON-RPC methods were asked, and stops with its destructor. Nothing here uses Catch2.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

namespace pc::test {

// The bytes of one answer: `head` (status line, headers, maybe the start of the body) in one
// write, then `piece` `piece_count` times, then `tail`. An oversized answer is sent this way
// without the test holding it whole; sending stops when the wallet closes the connection.
struct FakeAnswer {
  std::string head;
  std::string piece;
  std::size_t piece_count = 0;
  std::string tail;
};

// A 200 answer whose body is `body`, with its Content-Length.
FakeAnswer json_answer(const nlohmann::json& body);

class FakeNode {
 public:
  // Called on the node's thread for each request: the parsed JSON-RPC request (null when the
  // body is not JSON) in, the answer out.
  using Responder = std::function<FakeAnswer(const nlohmann::json& request)>;

  explicit FakeNode(Responder responder);
  ~FakeNode();  // stops the thread and closes the socket
  FakeNode(const FakeNode&) = delete;
  FakeNode& operator=(const FakeNode&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // The methods asked so far, in order.
  std::vector<std::string> methods() const;

 private:
  void serve();
  void answer_one(int connection_fd);

  Responder responder_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  mutable std::mutex mutex_;
  std::vector<std::string> methods_;  // guarded by mutex_
  std::thread thread_;
};

}  // namespace pc::test
