// node.json, and the currency table that earn rates and `earn` share.
#include <algorithm>
#include <array>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "ledger/limits.hpp"
#include "node/node.hpp"
#include "node/p2p/wire.hpp"

namespace pc::node {
namespace {

using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;

struct Currency {
  std::string_view code;
  unsigned minor_digits;
};

// ISO 4217 minor units. A currency missing here cannot be earned in: add it with its digits.
constexpr std::array<Currency, 42> currencies{{
    {"AED", 2}, {"AUD", 2}, {"BHD", 3}, {"BRL", 2}, {"CAD", 2}, {"CHF", 2}, {"CLP", 0},
    {"CNY", 2}, {"CZK", 2}, {"DKK", 2}, {"EUR", 2}, {"GBP", 2}, {"HKD", 2}, {"HUF", 2},
    {"IDR", 2}, {"ILS", 2}, {"INR", 2}, {"IQD", 3}, {"ISK", 0}, {"JOD", 3}, {"JPY", 0},
    {"KRW", 0}, {"KWD", 3}, {"LYD", 3}, {"MXN", 2}, {"MYR", 2}, {"NOK", 2}, {"NZD", 2},
    {"OMR", 3}, {"PHP", 2}, {"PLN", 2}, {"RON", 2}, {"SAR", 2}, {"SEK", 2}, {"SGD", 2},
    {"THB", 2}, {"TND", 3}, {"TRY", 2}, {"TWD", 2}, {"USD", 2}, {"VND", 0}, {"ZAR", 2},
}};

constexpr std::uint64_t block_interval_ms_max = 86'400'000;
// A token shorter than this is too easy to guess; `init` writes 64 hex characters.
constexpr std::size_t api_token_chars_min = 16;
// Ranges of node.json's rpc_limits.
constexpr std::uint64_t rpc_connections_max_max = 65'536;
constexpr std::uint64_t rpc_body_bytes_min = 4 * 1024;  // room for the largest transaction as hex in a request
constexpr std::uint64_t rpc_body_bytes_max_max = 64 * 1024 * 1024;
constexpr std::uint64_t rpc_timeout_ms_min = 100;
constexpr std::uint64_t rpc_timeout_ms_max = 3'600'000;
constexpr std::uint64_t rpc_threads_max = 64;

using ParseError = std::string;

// Reads an unsigned integer field in [min, max] into `out`.
template <class Int>
std::optional<ParseError> read_unsigned(const Json& object, const char* name, std::uint64_t min,
                                        std::uint64_t max, Int& out) {
  auto found = object.find(name);
  if (found == object.end()) return std::nullopt;
  if (!found->is_number_unsigned()) {
    return std::string(name) + " must be a non-negative integer";
  }
  const auto value = found->get<std::uint64_t>();
  if (value < min || value > max) {
    return std::string(name) + " must be between " + std::to_string(min) + " and " + std::to_string(max);
  }
  out = static_cast<Int>(value);
  return std::nullopt;
}

std::optional<ParseError> read_string(const Json& object, const char* name, std::string& out) {
  auto found = object.find(name);
  if (found == object.end()) return std::nullopt;
  if (!found->is_string()) return std::string(name) + " must be a string";
  out = found->get<std::string>();
  return std::nullopt;
}

std::optional<ParseError> unknown_field(const Json& object, std::initializer_list<std::string_view> known,
                                        std::string_view where) {
  for (const auto& [key, value] : object.items()) {
    bool listed = false;
    for (std::string_view name : known) listed = listed || key == name;
    if (!listed) return "unknown field \"" + key + "\"" + std::string(where);
  }
  return std::nullopt;
}

std::optional<ParseError> read_earn_rates(const Json& object, std::vector<EarnRate>& out) {
  auto found = object.find("earn_rates");
  if (found == object.end()) return std::nullopt;
  if (!found->is_array()) return "earn_rates must be an array";
  out.clear();
  for (const Json& item : *found) {
    if (!item.is_object()) return "each earn rate must be an object {currency, points_per_unit}";
    if (auto error = unknown_field(item, {"currency", "points_per_unit"}, " in an earn rate")) return error;
    EarnRate rate;
    if (!item.contains("currency") || !item.contains("points_per_unit")) {
      return "each earn rate needs currency and points_per_unit";
    }
    if (auto error = read_string(item, "currency", rate.currency)) return error;
    if (!currency_minor_digits(rate.currency)) return "earn_rates: unknown currency \"" + rate.currency + "\"";
    if (auto error = read_unsigned(item, "points_per_unit", 1, std::numeric_limits<std::uint32_t>::max(),
                                   rate.points_per_unit)) {
      return "earn_rates " + rate.currency + ": " + *error;
    }
    for (const EarnRate& seen : out) {
      if (seen.currency == rate.currency) return "earn_rates: " + rate.currency + " is listed twice";
    }
    out.push_back(rate);
  }
  return std::nullopt;
}

// The ranges keep a node usable (one connection, one thread, a body that holds the largest
// transaction) and below what one process can hold (file descriptors, memory per body).
std::optional<ParseError> read_rpc_limits(const Json& object, RpcLimits& limits) {
  if (!object.is_object()) return "rpc_limits must be an object";
  if (auto error = unknown_field(object,
                                 {"connections_max", "connections_per_address_max", "body_bytes_max",
                                  "idle_timeout_ms", "write_timeout_ms", "threads"},
                                 " in rpc_limits")) {
    return error;
  }
  if (auto error = read_unsigned(object, "connections_max", 1, rpc_connections_max_max, limits.connections_max)) {
    return "rpc_limits." + *error;
  }
  if (auto error = read_unsigned(object, "connections_per_address_max", 1, limits.connections_max,
                                 limits.connections_per_address_max)) {
    return "rpc_limits." + *error + " (at most connections_max)";
  }
  // Lowering connections_max alone lowers the per-address default with it.
  if (!object.contains("connections_per_address_max")) {
    limits.connections_per_address_max = std::min(limits.connections_per_address_max, limits.connections_max);
  }
  if (auto error = read_unsigned(object, "body_bytes_max", rpc_body_bytes_min, rpc_body_bytes_max_max,
                                 limits.body_bytes_max)) {
    return "rpc_limits." + *error;
  }
  if (auto error = read_unsigned(object, "idle_timeout_ms", rpc_timeout_ms_min, rpc_timeout_ms_max,
                                 limits.idle_timeout_ms)) {
    return "rpc_limits." + *error;
  }
  if (auto error = read_unsigned(object, "write_timeout_ms", rpc_timeout_ms_min, rpc_timeout_ms_max,
                                 limits.write_timeout_ms)) {
    return "rpc_limits." + *error;
  }
  if (auto error = read_unsigned(object, "threads", 1, rpc_threads_max, limits.threads)) return "rpc_limits." + *error;
  return std::nullopt;
}

// Ranges of node.json's webhooks section (docs/webhooks.md).
constexpr std::uint64_t webhook_retry_ms_min = 10;
constexpr std::uint64_t webhook_retry_ms_max = 86'400'000;
constexpr std::uint64_t webhook_request_timeout_ms_min = 100;
constexpr std::uint64_t webhook_request_timeout_ms_max = 300'000;
constexpr std::uint64_t webhook_expiring_notice_days_max = 365;

std::optional<ParseError> read_webhook_endpoint(const Json& item, std::size_t position, WebhookEndpoint& endpoint) {
  const std::string where = "webhooks.endpoints[" + std::to_string(position) + "]";
  if (!item.is_object()) return where + " must be an object {url, events, secret}";
  if (auto error = unknown_field(item, {"url", "events", "secret", "queue_events_max"}, " in " + where)) return error;
  if (!item.contains("url") || !item.contains("events") || !item.contains("secret")) {
    return where + " needs url, events and secret";
  }
  if (auto error = read_string(item, "url", endpoint.url)) return where + "." + *error;
  std::string url_error;
  auto parsed = parse_webhook_url(endpoint.url, url_error);
  if (!parsed) return where + "." + url_error;
  endpoint.parsed = std::move(*parsed);
  const Json& events = item.at("events");
  if (!events.is_array() || events.empty()) return where + ".events must be a non-empty array of event names";
  for (const Json& name : events) {
    const auto type = name.is_string() ? webhook_event_from_name(name.get<std::string>()) : std::nullopt;
    if (!type) {
      return where + ".events: unknown event " + name.dump() +
             " (earn, redemption, return, points_expiring)";
    }
    if (!endpoint.events.insert(*type).second) return where + ".events lists " + name.dump() + " twice";
  }
  if (auto error = read_string(item, "secret", endpoint.secret)) return where + "." + *error;
  if (endpoint.secret.size() < webhook_secret_bytes_min || endpoint.secret.size() > webhook_secret_bytes_max) {
    return where + ".secret must be " + std::to_string(webhook_secret_bytes_min) + " to " +
           std::to_string(webhook_secret_bytes_max) + " characters";
  }
  for (char c : endpoint.secret) {
    if (c < 0x21 || c > 0x7e) return where + ".secret must be printable ASCII without spaces";
  }
  if (auto error = read_unsigned(item, "queue_events_max", 1, webhook_queue_events_max_max, endpoint.queue_events_max)) {
    return where + "." + *error;
  }
  return std::nullopt;
}

std::optional<ParseError> read_webhooks(const Json& object, WebhookSettings& settings) {
  if (!object.is_object()) return "webhooks must be an object";
  if (auto error = unknown_field(object,
                                 {"endpoints", "expiring_notice_days", "retry_initial_ms", "retry_max_ms",
                                  "request_timeout_ms"},
                                 " in webhooks")) {
    return error;
  }
  if (auto found = object.find("endpoints"); found != object.end()) {
    if (!found->is_array()) return "webhooks.endpoints must be an array";
    if (found->size() > webhook_endpoints_max) {
      return "webhooks.endpoints holds more than " + std::to_string(webhook_endpoints_max) + " endpoints";
    }
    for (std::size_t i = 0; i < found->size(); ++i) {
      WebhookEndpoint endpoint;
      if (auto error = read_webhook_endpoint((*found)[i], i, endpoint)) return error;
      for (const WebhookEndpoint& seen : settings.endpoints) {
        if (seen.url == endpoint.url) return "webhooks.endpoints lists " + endpoint.url + " twice";
      }
      settings.endpoints.push_back(std::move(endpoint));
    }
  }
  if (auto error = read_unsigned(object, "expiring_notice_days", 1, webhook_expiring_notice_days_max,
                                 settings.expiring_notice_days)) {
    return "webhooks." + *error;
  }
  if (auto error = read_unsigned(object, "retry_initial_ms", webhook_retry_ms_min, webhook_retry_ms_max,
                                 settings.retry_initial_ms)) {
    return "webhooks." + *error;
  }
  if (auto error = read_unsigned(object, "retry_max_ms", settings.retry_initial_ms, webhook_retry_ms_max,
                                 settings.retry_max_ms)) {
    return "webhooks." + *error + " (at least retry_initial_ms)";
  }
  settings.retry_max_ms = std::max(settings.retry_max_ms, settings.retry_initial_ms);
  if (auto error = read_unsigned(object, "request_timeout_ms", webhook_request_timeout_ms_min,
                                 webhook_request_timeout_ms_max, settings.request_timeout_ms)) {
    return "webhooks." + *error;
  }
  return std::nullopt;
}

// node.json's "p2p" section: where this node listens, whom it dials, which observers may
// connect, and the transport's limits. Whether each peer's partner is in the genesis is
// checked when the transport starts (the genesis is not read here).
std::optional<ParseError> read_p2p(const Json& object, p2p::TransportConfig& config) {
  if (!object.is_object()) return "p2p must be an object";
  if (auto error = unknown_field(object, {"listen_address", "listen_port", "peers", "observer_keys", "limits"},
                                 " in p2p")) {
    return error;
  }
  config.listen_port = p2p_port_default;
  if (auto error = read_string(object, "listen_address", config.listen_address)) return "p2p." + *error;
  if (config.listen_address.empty()) return "p2p.listen_address must not be empty";
  if (auto error = read_unsigned(object, "listen_port", 1, 65'535, config.listen_port)) return "p2p." + *error;
  if (auto found = object.find("peers"); found != object.end()) {
    if (!found->is_array()) return "p2p.peers must be an array";
    if (found->size() > p2p::peers_max_max) {
      return "p2p.peers lists more than " + std::to_string(p2p::peers_max_max) + " peers";
    }
    for (const Json& item : *found) {
      const std::string where = "p2p.peers[" + std::to_string(config.peers.size()) + "]";
      if (!item.is_object()) return where + " must be an object {host, port, partner}";
      if (auto error = unknown_field(item, {"host", "port", "partner"}, " in " + where)) return error;
      if (!item.contains("host") || !item.contains("port") || !item.contains("partner")) {
        return where + " needs host, port and partner";
      }
      p2p::PeerAddress peer;
      if (auto error = read_string(item, "host", peer.host)) return where + "." + *error;
      if (peer.host.empty()) return where + ".host must not be empty";
      if (auto error = read_unsigned(item, "port", 1, 65'535, peer.port)) return where + "." + *error;
      if (auto error = read_unsigned(item, "partner", 1, 65'535, peer.partner)) return where + "." + *error;
      for (const p2p::PeerAddress& seen : config.peers) {
        if (seen.partner == peer.partner) return where + ": partner " + std::to_string(peer.partner) + " is listed twice";
      }
      config.peers.push_back(peer);
    }
  }
  if (auto found = object.find("observer_keys"); found != object.end()) {
    if (!found->is_array()) return "p2p.observer_keys must be an array";
    if (found->size() > p2p::peers_max_max) {
      return "p2p.observer_keys lists more than " + std::to_string(p2p::peers_max_max) + " keys";
    }
    for (const Json& item : *found) {
      const std::string where = "p2p.observer_keys[" + std::to_string(config.observer_keys.size()) + "]";
      auto key = item.is_string() ? fixed_from_hex<32>(item.get<std::string>()) : std::nullopt;
      if (!key) return where + " must be 64 hex characters (an ed25519 public key)";
      if (!crypto::is_valid_public_key(*key)) return where + " is not a valid ed25519 public key";
      if (std::find(config.observer_keys.begin(), config.observer_keys.end(), *key) != config.observer_keys.end()) {
        return where + " is listed twice";
      }
      config.observer_keys.push_back(*key);
    }
  }
  if (auto found = object.find("limits"); found != object.end()) {
    if (!found->is_object()) return "p2p.limits must be an object";
    if (auto error = unknown_field(*found,
                                   {"peers_max", "inbound_peers_max", "handshake_timeout_ms", "send_queue_bytes_max",
                                    "inbound_messages_per_second", "inbound_messages_burst", "reconnect_delay_ms_min",
                                    "reconnect_delay_ms_max", "keepalive_idle_ms", "keepalive_timeout_ms"},
                                   " in p2p.limits")) {
      return error;
    }
    p2p::TransportLimits& limits = config.limits;
    const std::uint64_t u32_max = std::numeric_limits<std::uint32_t>::max();
    if (auto error = read_unsigned(*found, "peers_max", 1, p2p::peers_max_max, limits.peers_max)) {
      return "p2p.limits." + *error;
    }
    if (auto error = read_unsigned(*found, "inbound_peers_max", 0, p2p::peers_max_max, limits.inbound_peers_max)) {
      return "p2p.limits." + *error;
    }
    if (auto error = read_unsigned(*found, "send_queue_bytes_max", p2p::frame_bytes_max, p2p::send_queue_bytes_max_max,
                                   limits.send_queue_bytes_max)) {
      return "p2p.limits." + *error + " (at least one largest frame)";
    }
    if (auto error = read_unsigned(*found, "handshake_timeout_ms", p2p::handshake_timeout_ms_min,
                                   p2p::handshake_timeout_ms_max, limits.handshake_timeout_ms)) {
      return "p2p.limits." + *error;
    }
    if (auto error = read_unsigned(*found, "inbound_messages_per_second", 1, u32_max, limits.inbound_messages_per_second)) {
      return "p2p.limits." + *error;
    }
    if (auto error = read_unsigned(*found, "inbound_messages_burst", 1, u32_max, limits.inbound_messages_burst)) {
      return "p2p.limits." + *error;
    }
    if (auto error = read_unsigned(*found, "reconnect_delay_ms_min", p2p::reconnect_delay_ms_min_min,
                                   p2p::reconnect_delay_ms_max_max, limits.reconnect_delay_ms_min)) {
      return "p2p.limits." + *error;
    }
    if (auto error = read_unsigned(*found, "reconnect_delay_ms_max", p2p::reconnect_delay_ms_min_min,
                                   p2p::reconnect_delay_ms_max_max, limits.reconnect_delay_ms_max)) {
      return "p2p.limits." + *error;
    }
    if (auto error = read_unsigned(*found, "keepalive_idle_ms", p2p::keepalive_idle_ms_min,
                                   p2p::keepalive_timeout_ms_max, limits.keepalive_idle_ms)) {
      return "p2p.limits." + *error;
    }
    if (auto error = read_unsigned(*found, "keepalive_timeout_ms", p2p::keepalive_idle_ms_min,
                                   p2p::keepalive_timeout_ms_max, limits.keepalive_timeout_ms)) {
      return "p2p.limits." + *error;
    }
    // The rules between fields (inbound at most the total, min delay at most the max).
    try {
      p2p::validate(limits);
    } catch (const std::invalid_argument& error) {
      return std::string(error.what());
    }
  }
  return std::nullopt;
}

std::optional<ParseError> read_config(const Json& json, const std::filesystem::path& directory, NodeConfig& config) {
  if (!json.is_object()) return "the top level must be an object";
  if (auto error = unknown_field(json,
                                 {"data_dir", "rpc_address", "rpc_port", "rpc_rate_requests_per_second",
                                  "rpc_rate_burst_requests", "block_interval_ms", "block_trigger_tx_count",
                                  "earn_rates", "return_window_days", "api_token", "tx_validity_blocks",
                                  "mempool", "rpc_limits", "webhooks", "p2p", "observer"},
                                 "")) {
    return error;
  }
  std::string data_dir;
  if (auto error = read_string(json, "data_dir", data_dir)) return error;
  config.data_dir = data_dir.empty() ? directory : directory / data_dir;  // `/` keeps an absolute path
  if (auto error = read_string(json, "rpc_address", config.rpc_address)) return error;
  if (config.rpc_address.empty()) return "rpc_address must not be empty";
  if (auto error = read_unsigned(json, "rpc_port", 1, 65'535, config.rpc_port)) return error;
  const std::uint64_t u32_max = std::numeric_limits<std::uint32_t>::max();
  if (auto error = read_unsigned(json, "rpc_rate_requests_per_second", 1, u32_max,
                                 config.rpc_rate_requests_per_second)) {
    return error;
  }
  if (auto error = read_unsigned(json, "rpc_rate_burst_requests", 1, u32_max, config.rpc_rate_burst_requests)) {
    return error;
  }
  if (auto error = read_unsigned(json, "block_interval_ms", 1, block_interval_ms_max, config.block_interval_ms)) {
    return error;
  }
  if (auto error = read_unsigned(json, "block_trigger_tx_count", 1, ledger::block_tx_count_max,
                                 config.block_trigger_tx_count)) {
    return error;
  }
  if (auto error = read_earn_rates(json, config.earn_rates)) return error;
  if (auto error = read_unsigned(json, "return_window_days", 0, ledger::pending_days_max,
                                 config.return_window_days)) {
    return error;
  }
  if (auto error = read_string(json, "api_token", config.api_token)) return error;
  if (!config.api_token.empty()) {
    if (config.api_token.size() < api_token_chars_min) {
      return "api_token must be empty (partner methods off) or at least " + std::to_string(api_token_chars_min) +
             " characters";
    }
    for (char c : config.api_token) {
      if (c < 0x21 || c > 0x7e) return "api_token must be printable ASCII without spaces";
    }
  }
  if (auto error = read_unsigned(json, "tx_validity_blocks", 1, ledger::tx_validity_blocks_max,
                                 config.tx_validity_blocks)) {
    return error;
  }
  if (auto found = json.find("mempool"); found != json.end()) {
    if (!found->is_object()) return "mempool must be an object";
    if (auto error = unknown_field(*found, {"tx_count_max", "bytes_max", "per_signer_max"}, " in mempool")) {
      return error;
    }
    const std::uint64_t size_max = std::numeric_limits<std::uint32_t>::max();
    MempoolLimits& limits = config.mempool;
    if (auto error = read_unsigned(*found, "tx_count_max", 1, size_max, limits.tx_count_max)) return "mempool." + *error;
    if (auto error = read_unsigned(*found, "bytes_max", ledger::tx_bytes_max, std::uint64_t{1} << 40, limits.bytes_max)) {
      return "mempool." + *error;
    }
    if (auto error = read_unsigned(*found, "per_signer_max", 1, size_max, limits.per_signer_max)) {
      return "mempool." + *error;
    }
  }
  if (auto found = json.find("webhooks"); found != json.end()) {
    if (auto error = read_webhooks(*found, config.webhooks)) return error;
  }
  if (auto found = json.find("rpc_limits"); found != json.end()) {
    if (auto error = read_rpc_limits(*found, config.rpc_limits)) return error;
  }
  if (auto found = json.find("p2p"); found != json.end()) {
    config.p2p.emplace();
    if (auto error = read_p2p(*found, *config.p2p)) return error;
  }
  if (auto found = json.find("observer"); found != json.end()) {
    if (!found->is_boolean()) return "observer must be true or false";
    config.observer = found->get<bool>();
  }
  if (config.observer && !config.p2p) return "an observer needs a p2p section: it has the chain only from its peers";
  if (config.observer && !config.api_token.empty()) {
    return "an observer has no partner methods: api_token must be empty";
  }
  return std::nullopt;
}

}  // namespace

std::optional<unsigned> currency_minor_digits(std::string_view currency) {
  for (const Currency& known : currencies) {
    if (known.code == currency) return known.minor_digits;
  }
  return std::nullopt;
}

ledger::Result<std::uint64_t> points_for_purchase(const std::vector<EarnRate>& rates, std::int64_t amount_minor,
                                                  std::string_view currency) {
  const auto digits = currency_minor_digits(currency);
  if (!digits) {
    return ledger::Error{ledger::Code::invalid_field, "unknown currency \"" + std::string(currency) + "\""};
  }
  const EarnRate* rate = nullptr;
  for (const EarnRate& candidate : rates) {
    if (candidate.currency == currency) rate = &candidate;
  }
  if (rate == nullptr) {
    return ledger::Error{ledger::Code::invalid_field, "this node has no earn rate for " + std::string(currency)};
  }
  if (amount_minor < 0) return ledger::Error{ledger::Code::invalid_field, "purchase amount is negative"};
  std::uint64_t product = 0;
  if (__builtin_mul_overflow(static_cast<std::uint64_t>(amount_minor), rate->points_per_unit, &product)) {
    return ledger::Error{ledger::Code::overflow, "amount times points per unit passes 2^64 - 1"};
  }
  std::uint64_t minor_per_unit = 1;
  for (unsigned i = 0; i < *digits; ++i) minor_per_unit *= 10;
  return product / minor_per_unit;
}

pc::Result<NodeConfig, std::string> parse_node_config(std::string_view json_text,
                                                      const std::filesystem::path& directory) {
  Json json;
  try {
    json = Json::parse(json_text);
  } catch (const Json::exception& error) {
    // parse_error, and out_of_range for a number too large even for a double ("1e999").
    return std::string("not valid JSON: ") + error.what();
  }
  NodeConfig config;
  if (auto error = read_config(json, directory, config)) return *error;
  return config;
}

pc::Result<NodeConfig, std::string> load_node_config(const std::filesystem::path& path) {
  std::ifstream file(path);
  if (!file) return "cannot read " + path.string();
  std::ostringstream text;
  text << file.rdbuf();
  auto config = parse_node_config(text.str(), path.parent_path().empty() ? "." : path.parent_path());
  if (!config) return path.string() + ": " + config.error();
  return config;
}

std::string node_config_to_json(const NodeConfig& config) {
  OrderedJson json;
  json["rpc_address"] = config.rpc_address;
  json["rpc_port"] = config.rpc_port;
  json["rpc_rate_requests_per_second"] = config.rpc_rate_requests_per_second;
  json["rpc_rate_burst_requests"] = config.rpc_rate_burst_requests;
  json["block_interval_ms"] = config.block_interval_ms;
  json["block_trigger_tx_count"] = config.block_trigger_tx_count;
  json["earn_rates"] = OrderedJson::array();
  for (const EarnRate& rate : config.earn_rates) {
    json["earn_rates"].push_back({{"currency", rate.currency}, {"points_per_unit", rate.points_per_unit}});
  }
  json["return_window_days"] = config.return_window_days;
  json["api_token"] = config.api_token;
  json["tx_validity_blocks"] = config.tx_validity_blocks;
  json["mempool"] = {{"tx_count_max", config.mempool.tx_count_max},
                     {"bytes_max", config.mempool.bytes_max},
                     {"per_signer_max", config.mempool.per_signer_max}};
  const RpcLimits& rpc = config.rpc_limits;
  json["rpc_limits"] = {{"connections_max", rpc.connections_max},
                        {"connections_per_address_max", rpc.connections_per_address_max},
                        {"body_bytes_max", rpc.body_bytes_max},
                        {"idle_timeout_ms", rpc.idle_timeout_ms},
                        {"write_timeout_ms", rpc.write_timeout_ms},
                        {"threads", rpc.threads}};
  // Written only when set, so a node.json without webhooks stays as `init` wrote it.
  if (!config.webhooks.endpoints.empty()) {
    const WebhookSettings& webhooks = config.webhooks;
    OrderedJson endpoints = OrderedJson::array();
    for (const WebhookEndpoint& endpoint : webhooks.endpoints) {
      OrderedJson events = OrderedJson::array();
      for (WebhookEventType type : endpoint.events) events.push_back(std::string(webhook_event_name(type)));
      endpoints.push_back({{"url", endpoint.url},
                           {"events", events},
                           {"secret", endpoint.secret},
                           {"queue_events_max", endpoint.queue_events_max}});
    }
    json["webhooks"] = {{"endpoints", endpoints},
                        {"expiring_notice_days", webhooks.expiring_notice_days},
                        {"retry_initial_ms", webhooks.retry_initial_ms},
                        {"retry_max_ms", webhooks.retry_max_ms},
                        {"request_timeout_ms", webhooks.request_timeout_ms}};
  }
  if (config.p2p) {
    const p2p::TransportConfig& p2p = *config.p2p;
    OrderedJson section;
    section["listen_address"] = p2p.listen_address;
    section["listen_port"] = p2p.listen_port;
    section["peers"] = OrderedJson::array();
    for (const p2p::PeerAddress& peer : p2p.peers) {
      section["peers"].push_back({{"host", peer.host}, {"port", peer.port}, {"partner", peer.partner}});
    }
    section["observer_keys"] = OrderedJson::array();
    for (const crypto::PublicKey& key : p2p.observer_keys) section["observer_keys"].push_back(to_hex(key));
    const p2p::TransportLimits& limits = p2p.limits;
    section["limits"] = {{"peers_max", limits.peers_max},
                         {"inbound_peers_max", limits.inbound_peers_max},
                         {"handshake_timeout_ms", limits.handshake_timeout_ms},
                         {"send_queue_bytes_max", limits.send_queue_bytes_max},
                         {"inbound_messages_per_second", limits.inbound_messages_per_second},
                         {"inbound_messages_burst", limits.inbound_messages_burst},
                         {"reconnect_delay_ms_min", limits.reconnect_delay_ms_min},
                         {"reconnect_delay_ms_max", limits.reconnect_delay_ms_max},
                         {"keepalive_idle_ms", limits.keepalive_idle_ms},
                         {"keepalive_timeout_ms", limits.keepalive_timeout_ms}};
    json["p2p"] = section;
  }
  // Written only when set, like webhooks.
  if (config.observer) json["observer"] = true;
  return json.dump(2) + "\n";
}

}  // namespace pc::node
