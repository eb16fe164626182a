#include "node/webhook_config.hpp"

#include <array>
#include <charconv>

namespace pc::node {
namespace {

struct NamedType {
  std::string_view name;
  WebhookEventType type;
};
constexpr std::array<NamedType, 8> event_names{{
    {"earn", WebhookEventType::earn},
    {"redemption", WebhookEventType::redemption},
    {"return", WebhookEventType::return_purchase},
    {"points_expiring", WebhookEventType::points_expiring},
    {"events_dropped", WebhookEventType::events_dropped},
    {"voucher_used", WebhookEventType::voucher_used},
    {"tier_changed", WebhookEventType::tier_changed},
    {"badge_earned", WebhookEventType::badge_earned},
}};

bool host_character(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
}

}  // namespace

std::string_view webhook_event_name(WebhookEventType type) {
  for (const NamedType& named : event_names) {
    if (named.type == type) return named.name;
  }
  return "unknown";
}

std::optional<WebhookEventType> webhook_event_from_name(std::string_view name) {
  for (const NamedType& named : event_names) {
    if (named.name == name && named.type != WebhookEventType::events_dropped) return named.type;
  }
  return std::nullopt;
}

std::optional<WebhookUrl> parse_webhook_url(std::string_view url, std::string& error) {
  constexpr std::string_view scheme = "http://";
  if (url.size() > webhook_url_bytes_max) {
    error = "url is longer than " + std::to_string(webhook_url_bytes_max) + " bytes";
    return std::nullopt;
  }
  if (url.starts_with("https://")) {
    error = "url: https is not supported; deliver to an http:// URL (a local TLS proxy can forward it)";
    return std::nullopt;
  }
  if (!url.starts_with(scheme)) {
    error = "url must start with http://";
    return std::nullopt;
  }
  for (char c : url) {
    if (c <= 0x20 || c >= 0x7f) {
      error = "url must be printable ASCII without spaces";
      return std::nullopt;
    }
  }
  std::string_view rest = url.substr(scheme.size());
  const std::size_t path_start = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, path_start);
  WebhookUrl parsed;
  if (path_start != std::string_view::npos) {
    if (rest[path_start] == '#') {
      error = "url must not have a fragment";
      return std::nullopt;
    }
    parsed.target = std::string(rest.substr(path_start));
    if (parsed.target.front() == '?') parsed.target.insert(0, 1, '/');
    if (parsed.target.find('#') != std::string::npos) {
      error = "url must not have a fragment";
      return std::nullopt;
    }
  }
  if (authority.find('@') != std::string_view::npos) {
    error = "url must not carry user information";
    return std::nullopt;
  }
  std::string_view port_text;
  if (authority.starts_with("[")) {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      error = "url: unterminated IPv6 address";
      return std::nullopt;
    }
    parsed.host = std::string(authority.substr(1, close - 1));
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') {
        error = "url: expected ':' and a port after the IPv6 address";
        return std::nullopt;
      }
      port_text = after.substr(1);
    }
    for (char c : parsed.host) {
      if (!(c == ':' || c == '.' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
        error = "url: malformed IPv6 address";
        return std::nullopt;
      }
    }
  } else {
    const std::size_t colon = authority.find(':');
    parsed.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
    for (char c : parsed.host) {
      if (!host_character(c)) {
        error = "url: the host may hold only letters, digits, '.' and '-'";
        return std::nullopt;
      }
    }
  }
  if (parsed.host.empty()) {
    error = "url has no host";
    return std::nullopt;
  }
  if (!port_text.empty() || authority.ends_with(":")) {
    unsigned port = 0;
    const auto [end, status] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (port_text.empty() || status != std::errc() || end != port_text.data() + port_text.size() || port == 0 ||
        port > 65'535) {
      error = "url: the port must be a number from 1 to 65535";
      return std::nullopt;
    }
    parsed.port = static_cast<std::uint16_t>(port);
  }
  return parsed;
}

}  // namespace pc::node
