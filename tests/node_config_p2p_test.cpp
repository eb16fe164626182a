// node.json's "p2p" section (docs/node.md): absent, the node has no network; present, it is
// read strictly into a p2p::TransportConfig, and writes back the same.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "node/node.hpp"
#include "tests/fixtures.hpp"

namespace {

using pc::node::parse_node_config;

}  // namespace

// A file without "p2p" gives no transport config at all, so such a node runs as before; a
// section gives the defaults docs/node.md lists; a full section round-trips through
// node_config_to_json.
TEST_CASE("node.json p2p: absent means no network, defaults, and a round trip", "[node][config][p2p]") {
  const auto without = parse_node_config("{}", "/tmp");
  REQUIRE(without);
  CHECK_FALSE(without->p2p.has_value());
  CHECK(pc::node::node_config_to_json(*without).find("p2p") == std::string::npos);

  const auto empty = parse_node_config(R"({"p2p": {}})", "/tmp");
  REQUIRE(empty);
  REQUIRE(empty->p2p.has_value());
  CHECK(empty->p2p->listen_address == "127.0.0.1");
  CHECK(empty->p2p->listen_port == pc::node::p2p_port_default);
  CHECK(empty->p2p->peers.empty());
  CHECK(empty->p2p->observer_keys.empty());
  CHECK(empty->p2p->limits == pc::node::p2p::TransportLimits{});

  const std::string auditor = pc::to_hex(pc::test::seeded_key("auditor").public_key());
  const auto full = parse_node_config(R"({"p2p": {
      "listen_address": "0.0.0.0", "listen_port": 7702,
      "peers": [{"host": "10.0.0.1", "port": 7701, "partner": 1}, {"host": "node3.example", "port": 7703, "partner": 3}],
      "observer_keys": [")" + auditor + R"("],
      "limits": {"peers_max": 8, "inbound_peers_max": 4, "handshake_timeout_ms": 1000,
                 "send_queue_bytes_max": 33554432, "inbound_messages_per_second": 100,
                 "inbound_messages_burst": 200, "reconnect_delay_ms_min": 50, "reconnect_delay_ms_max": 5000,
                 "keepalive_idle_ms": 1000, "keepalive_timeout_ms": 4000}}})",
                                      "/tmp");
  REQUIRE(full);
  REQUIRE(full->p2p);
  const auto& p2p = *full->p2p;
  CHECK(p2p.listen_address == "0.0.0.0");
  CHECK(p2p.listen_port == 7702);
  CHECK(p2p.peers == std::vector<pc::node::p2p::PeerAddress>{{"10.0.0.1", 7701, 1}, {"node3.example", 7703, 3}});
  REQUIRE(p2p.observer_keys.size() == 1);
  CHECK(pc::to_hex(p2p.observer_keys[0]) == auditor);
  CHECK(p2p.limits.peers_max == 8);
  CHECK(p2p.limits.inbound_peers_max == 4);
  CHECK(p2p.limits.handshake_timeout_ms == 1000);
  CHECK(p2p.limits.send_queue_bytes_max == 33554432);
  CHECK(p2p.limits.inbound_messages_per_second == 100);
  CHECK(p2p.limits.inbound_messages_burst == 200);
  CHECK(p2p.limits.reconnect_delay_ms_min == 50);
  CHECK(p2p.limits.reconnect_delay_ms_max == 5000);
  CHECK(p2p.limits.keepalive_idle_ms == 1000);
  CHECK(p2p.limits.keepalive_timeout_ms == 4000);
  const auto reread = parse_node_config(pc::node::node_config_to_json(*full), "/tmp");
  REQUIRE(reread);
  CHECK(reread->p2p == full->p2p);
}

// Every malformed p2p field stops the node with a message naming it.
TEST_CASE("node.json p2p: each malformed field is refused, naming it", "[node][config][p2p]") {
  const std::string bad_key(64, 'z');
  const std::vector<std::pair<std::string, std::string>> bad{
      {R"({"p2p": 1})", "p2p must be an object"},
      {R"({"p2p": {"listen": 1}})", "unknown field \"listen\" in p2p"},
      {R"({"p2p": {"listen_address": ""}})", "p2p.listen_address must not be empty"},
      {R"({"p2p": {"listen_port": 0}})", "p2p.listen_port"},
      {R"({"p2p": {"listen_port": 65536}})", "p2p.listen_port"},
      {R"({"p2p": {"peers": {}}})", "p2p.peers must be an array"},
      {R"({"p2p": {"peers": [{"host": "a", "port": 1}]}})", "p2p.peers[0] needs host, port and partner"},
      {R"({"p2p": {"peers": [{"host": "", "port": 1, "partner": 1}]}})", "p2p.peers[0].host must not be empty"},
      {R"({"p2p": {"peers": [{"host": "a", "port": 0, "partner": 1}]}})", "p2p.peers[0].port"},
      {R"({"p2p": {"peers": [{"host": "a", "port": 1, "partner": 0}]}})", "p2p.peers[0].partner"},
      {R"({"p2p": {"peers": [{"host": "a", "port": 1, "partner": 1, "key": "x"}]}})", "unknown field \"key\" in p2p.peers[0]"},
      {R"({"p2p": {"peers": [{"host": "a", "port": 1, "partner": 2}, {"host": "b", "port": 2, "partner": 2}]}})",
       "p2p.peers[1]: partner 2 is listed twice"},
      {R"({"p2p": {"observer_keys": ["abcd"]}})", "p2p.observer_keys[0] must be 64 hex characters"},
      {R"({"p2p": {"observer_keys": [")" + bad_key + R"("]}})", "p2p.observer_keys[0] must be 64 hex characters"},
      {R"({"p2p": {"observer_keys": [")" + std::string(64, '0') + R"("]}})",
       "p2p.observer_keys[0] is not a valid ed25519 public key"},
      {R"({"p2p": {"limits": {"peers_max": 0}}})", "p2p.limits.peers_max"},
      {R"({"p2p": {"limits": {"peers_max": 4, "inbound_peers_max": 5}}})", "inbound_peers_max must be at most peers_max"},
      {R"({"p2p": {"limits": {"handshake_timeout_ms": 99}}})", "p2p.limits.handshake_timeout_ms"},
      {R"({"p2p": {"limits": {"send_queue_bytes_max": 1024}}})", "p2p.limits.send_queue_bytes_max"},
      {R"({"p2p": {"limits": {"inbound_messages_per_second": 0}}})", "p2p.limits.inbound_messages_per_second"},
      {R"({"p2p": {"limits": {"reconnect_delay_ms_min": 500, "reconnect_delay_ms_max": 100}}})",
       "reconnect_delay_ms_min must be between"},
      {R"({"p2p": {"limits": {"ban_seconds": 5}}})", "unknown field \"ban_seconds\" in p2p.limits"},
      {R"({"p2p": {"limits": {"keepalive_idle_ms": 99}}})", "p2p.limits.keepalive_idle_ms"},
      {R"({"p2p": {"limits": {"keepalive_idle_ms": 5000, "keepalive_timeout_ms": 5000}}})",
       "keepalive_idle_ms must be at least 100 and below keepalive_timeout_ms"},
      {R"({"p2p": {"limits": {"keepalive_timeout_ms": 3600001}}})", "p2p.limits.keepalive_timeout_ms"},
      {R"({"observer": 1, "p2p": {}})", "observer must be true or false"},
      {R"({"observer": true})", "an observer needs a p2p section"},
      {R"({"observer": true, "p2p": {}, "api_token": "0123456789abcdef0123"})",
       "an observer has no partner methods: api_token must be empty"},
  };
  for (const auto& [text, names] : bad) {
    INFO(text);
    const auto config = parse_node_config(text, "/tmp");
    REQUIRE_FALSE(config);
    CHECK(config.error().find(names) != std::string::npos);
  }
}

// An auditor's node: "observer": true with a p2p section reads back, and is written only when set.
TEST_CASE("node.json observer: read with its p2p section and written back only when set", "[node][config][p2p][observer]") {
  const auto observer = parse_node_config(R"({"observer": true, "p2p": {}})", "/tmp");
  REQUIRE(observer);
  CHECK(observer->observer);
  const auto reread = parse_node_config(pc::node::node_config_to_json(*observer), "/tmp");
  REQUIRE(reread);
  CHECK(reread->observer);
  const auto partner = parse_node_config(R"({"p2p": {}})", "/tmp");
  REQUIRE(partner);
  CHECK_FALSE(partner->observer);
  CHECK(pc::node::node_config_to_json(*partner).find("observer\"") == std::string::npos);
}
