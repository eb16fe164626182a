#include "tests/memory_transport.hpp"

#include <algorithm>

namespace pc::test {

using node::p2p::ConnectionId;
using node::p2p::TransportHandler;

MemoryNetwork::MemoryNetwork() : thread_([this] { run(); }) {}

MemoryNetwork::~MemoryNetwork() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wakeup_.notify_all();
  thread_.join();
}

MemoryNetwork::Endpoint& MemoryNetwork::add(std::string name, node::p2p::PeerIdentity identity) {
  std::lock_guard lock(mutex_);
  endpoints_.push_back(std::make_unique<Endpoint>(*this, std::move(name), std::move(identity)));
  return *endpoints_.back();
}

void MemoryNetwork::attach(Endpoint& endpoint, TransportHandler* handler) {
  std::lock_guard lock(mutex_);
  endpoint.handler_ = handler;
}

void MemoryNetwork::detach(Endpoint& endpoint) {
  std::vector<ConnectionId> open;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [connection, link] : links_) {
      if (link.owner == &endpoint && link.open) open.push_back(connection);
    }
  }
  for (ConnectionId connection : open) close(endpoint, connection, "stopped", 0);
  {
    std::lock_guard lock(mutex_);
    endpoint.handler_ = nullptr;
    std::erase_if(deliveries_, [&](const auto& delivery) { return delivery.first == &endpoint; });
  }
  // A callback to it that started before may still be running: wait it out.
  std::lock_guard wait(callback_mutex_);
}

void MemoryNetwork::connect(Endpoint& a, Endpoint& b) {
  std::lock_guard lock(mutex_);
  const ConnectionId at_a = next_connection_++;
  const ConnectionId at_b = next_connection_++;
  links_[at_a] = Link{&a, &b, at_b, true};
  links_[at_b] = Link{&b, &a, at_a, true};
  node::p2p::PeerIdentity seen_by_a = b.identity_;
  seen_by_a.outbound = true;
  node::p2p::PeerIdentity seen_by_b = a.identity_;
  seen_by_b.outbound = false;
  queue(&a, [at_a, seen_by_a](TransportHandler& handler) { handler.on_connected(at_a, seen_by_a); });
  queue(&b, [at_b, seen_by_b](TransportHandler& handler) { handler.on_connected(at_b, seen_by_b); });
}

void MemoryNetwork::set_tamper(Endpoint& from, Tamper tamper) {
  std::lock_guard lock(mutex_);
  from.tamper_ = std::move(tamper);
}

bool MemoryNetwork::inject(Endpoint& from, Endpoint& to, std::vector<std::uint8_t> payload) {
  std::lock_guard lock(mutex_);
  for (const auto& [connection, link] : links_) {
    if (link.owner == &from && link.peer == &to && link.open) {
      const ConnectionId target = link.peer_connection;
      queue(&to, [target, payload = std::move(payload)](TransportHandler& handler) {
        handler.on_message(target, payload);
      });
      return true;
    }
  }
  return false;
}

std::vector<MemoryNetwork::Ban> MemoryNetwork::bans() const {
  std::lock_guard lock(mutex_);
  return bans_;
}

bool MemoryNetwork::connected(const Endpoint& a, const Endpoint& b) const {
  std::lock_guard lock(mutex_);
  return std::any_of(links_.begin(), links_.end(),
                     [&](const auto& entry) { return entry.second.owner == &a && entry.second.peer == &b && entry.second.open; });
}

void MemoryNetwork::drain() {
  std::unique_lock lock(mutex_);
  idle_.wait(lock, [&] { return deliveries_.empty() && !delivering_; });
}

bool MemoryNetwork::Endpoint::send(ConnectionId connection, std::vector<std::uint8_t> payload) {
  return network_.send_from(*this, connection, std::move(payload));
}

void MemoryNetwork::Endpoint::disconnect(ConnectionId connection, const std::string& reason,
                                         std::uint32_t ban_seconds) {
  network_.close(*this, connection, reason, ban_seconds);
}

bool MemoryNetwork::send_from(Endpoint& from, ConnectionId connection, std::vector<std::uint8_t> payload) {
  std::lock_guard lock(mutex_);
  auto found = links_.find(connection);
  if (found == links_.end() || found->second.owner != &from || !found->second.open) return false;
  if (payload.size() > node::p2p::message_bytes_max) return false;
  if (from.tamper_) from.tamper_(payload);
  const ConnectionId target = found->second.peer_connection;
  queue(found->second.peer, [target, payload = std::move(payload)](TransportHandler& handler) {
    handler.on_message(target, payload);
  });
  return true;
}

void MemoryNetwork::close(Endpoint& by, ConnectionId connection, const std::string& reason, std::uint32_t ban_seconds) {
  std::lock_guard lock(mutex_);
  auto found = links_.find(connection);
  if (found == links_.end() || found->second.owner != &by || !found->second.open) return;
  Link& mine = found->second;
  Link& theirs = links_.at(mine.peer_connection);
  mine.open = false;
  theirs.open = false;
  if (ban_seconds > 0) bans_.push_back(Ban{by.name(), mine.peer->name(), reason, ban_seconds});
  const ConnectionId other = mine.peer_connection;
  queue(&by, [connection, reason](TransportHandler& handler) { handler.on_disconnected(connection, reason); });
  queue(mine.peer, [other, reason](TransportHandler& handler) { handler.on_disconnected(other, "closed by the peer: " + reason); });
}

void MemoryNetwork::queue(Endpoint* endpoint, std::function<void(TransportHandler&)> callback) {
  deliveries_.emplace_back(endpoint, std::move(callback));
  wakeup_.notify_one();
}

void MemoryNetwork::run() {
  std::unique_lock lock(mutex_);
  while (true) {
    wakeup_.wait(lock, [&] { return stopping_ || !deliveries_.empty(); });
    if (stopping_) return;
    auto [endpoint, callback] = std::move(deliveries_.front());
    deliveries_.pop_front();
    TransportHandler* handler = endpoint->handler_;
    delivering_ = true;
    // Taken before the network's lock is let go, so detach() cannot miss a callback that is
    // about to run.
    std::unique_lock running(callback_mutex_);
    lock.unlock();
    if (handler != nullptr) callback(*handler);
    running.unlock();
    lock.lock();
    delivering_ = false;
    if (deliveries_.empty()) idle_.notify_all();
  }
}

}  // namespace pc::test
