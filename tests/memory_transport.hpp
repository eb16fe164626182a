// An in-memory p2p::Transport that connects several nodes in one process, for tests of the
// peer protocol without sockets. Each node gets an Endpoint (its Transport); connect() links
// two endpoints as if their handshake had succeeded, with the identities the test gives.
// Messages and connection events are delivered in order, on one delivery thread, as the
// real transport delivers them on its own: never from inside send().
//
// Tests can tamper with what one endpoint sends (set_tamper), see who was disconnected for
// misbehaviour (bans), and take a node off the network (detach) before stopping it.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "node/p2p/transport.hpp"

namespace pc::test {

class MemoryNetwork {
 public:
  class Endpoint;
  // A payload on its way out of an endpoint; the tamper may change it.
  using Tamper = std::function<void(std::vector<std::uint8_t>& payload)>;

  struct Ban {
    std::string by;       // the endpoint that disconnected
    std::string peer;     // the endpoint it disconnected
    std::string reason;
    std::uint32_t ban_seconds = 0;
  };

  MemoryNetwork();
  ~MemoryNetwork();  // joins the delivery thread; detach every endpoint first
  MemoryNetwork(const MemoryNetwork&) = delete;
  MemoryNetwork& operator=(const MemoryNetwork&) = delete;

  // A new endpoint that presents `identity` to the endpoints it is connected to.
  Endpoint& add(std::string name, node::p2p::PeerIdentity identity);
  // Where an endpoint's callbacks go; nullptr: nowhere.
  void attach(Endpoint& endpoint, node::p2p::TransportHandler* handler);
  // Closes every connection of the endpoint and detaches its handler; when it returns, no
  // callback to that handler is running or will run.
  void detach(Endpoint& endpoint);
  void connect(Endpoint& a, Endpoint& b);
  void set_tamper(Endpoint& from, Tamper tamper);
  // Injects raw bytes as if `from` had sent them to `to` (they must be connected).
  bool inject(Endpoint& from, Endpoint& to, std::vector<std::uint8_t> payload);

  std::vector<Ban> bans() const;
  // Whether a connection between the two is open.
  bool connected(const Endpoint& a, const Endpoint& b) const;
  // Waits until everything sent so far has been delivered.
  void drain();

  class Endpoint final : public node::p2p::Transport {
   public:
    Endpoint(MemoryNetwork& network, std::string name, node::p2p::PeerIdentity identity)
        : network_(network), name_(std::move(name)), identity_(std::move(identity)) {}
    bool send(node::p2p::ConnectionId connection, std::vector<std::uint8_t> payload) override;
    void disconnect(node::p2p::ConnectionId connection, const std::string& reason, std::uint32_t ban_seconds) override;
    const std::string& name() const { return name_; }

   private:
    friend class MemoryNetwork;
    MemoryNetwork& network_;
    const std::string name_;
    const node::p2p::PeerIdentity identity_;
    node::p2p::TransportHandler* handler_ = nullptr;  // guarded by the network's mutex
    Tamper tamper_;                                   // guarded by the network's mutex
  };

 private:
  struct Link {
    Endpoint* owner = nullptr;  // whose connection id this is
    Endpoint* peer = nullptr;
    node::p2p::ConnectionId peer_connection = 0;
    bool open = true;
  };

  bool send_from(Endpoint& from, node::p2p::ConnectionId connection, std::vector<std::uint8_t> payload);
  void close(Endpoint& by, node::p2p::ConnectionId connection, const std::string& reason, std::uint32_t ban_seconds);
  // Queues a callback to `endpoint`'s handler; guarded by mutex_.
  void queue(Endpoint* endpoint, std::function<void(node::p2p::TransportHandler&)> callback);
  void run();

  mutable std::mutex mutex_;
  std::condition_variable wakeup_;
  std::condition_variable idle_;
  std::vector<std::unique_ptr<Endpoint>> endpoints_;  // guarded by mutex_
  std::map<node::p2p::ConnectionId, Link> links_;     // guarded by mutex_
  node::p2p::ConnectionId next_connection_ = 1;       // guarded by mutex_
  std::deque<std::pair<Endpoint*, std::function<void(node::p2p::TransportHandler&)>>> deliveries_;  // guarded
  std::vector<Ban> bans_;                             // guarded by mutex_
  bool delivering_ = false;                           // guarded by mutex_
  bool stopping_ = false;                             // guarded by mutex_
  std::mutex callback_mutex_;  // held while a callback runs, so detach() can wait it out
  std::thread thread_;
};

}  // namespace pc::test
