// What `pointchain-node run` runs around a Node: the production loop thread, and the
// frontends that serve the node to the world (the JSON-RPC server of rpc/, adapted in
// node/main.cpp when the pc_rpc library is built).
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "node/node.hpp"

namespace pc::node {

// A server in front of the node. start() returns once it is serving (it runs on its own
// threads); stop() stops accepting, closes connections and joins them. Both are called once,
// from the main thread.
struct Frontend {
  virtual ~Frontend() = default;
  virtual void start() = 0;
  virtual void stop() = 0;
};

// Calls node.produce_if_due() on a thread named "pc-produce", sleeping until
// node.next_check_ms() or until the node's production wakeup fires. Installs that wakeup
// on construction and removes it in stop().
class ProductionLoop {
 public:
  ProductionLoop(Node& node, const Clock& clock);
  ~ProductionLoop();  // stop()s
  ProductionLoop(const ProductionLoop&) = delete;
  ProductionLoop& operator=(const ProductionLoop&) = delete;

  // Finishes the block in progress, if any, and joins the thread. Idempotent.
  void stop();

 private:
  void run();
  void wake();

  Node& node_;
  const Clock& clock_;
  std::mutex mutex_;
  std::condition_variable wakeup_;
  bool woken_ = false;     // guarded by mutex_
  bool stopping_ = false;  // guarded by mutex_
  std::thread thread_;
};

}  // namespace pc::node
