#include "wallet-cli/node_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <chrono>

namespace pc::wallet {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Json = nlohmann::json;

struct HttpAnswer {
  unsigned status = 0;
  std::string body;
};

RpcFailure unreachable(std::string message) {
  return RpcFailure{RpcFailure::Kind::unreachable, 0, std::move(message), {}, {}};
}

RpcFailure bad_answer(std::string message) {
  return RpcFailure{RpcFailure::Kind::bad_answer, 0, std::move(message), {}, {}};
}

std::string describe(const beast::error_code& error) {
  return error == beast::error::timeout ? std::string("timed out") : error.message();
}

// Beast's timeouts (tcp_stream::expires_after) apply to asynchronous operations only, so
// each step is started asynchronously and the io_context is run until it completes.
pc::Result<HttpAnswer, RpcFailure> post(const NodeEndpoint& endpoint, std::string body,
                                        std::string_view api_token) {
  const std::string where = endpoint.host + ":" + endpoint.port;
  asio::io_context io;
  beast::error_code error;

  tcp::resolver resolver(io);
  tcp::resolver::results_type addresses;
  bool resolved = false;
  resolver.async_resolve(endpoint.host, endpoint.port,
                         [&](const beast::error_code& result, tcp::resolver::results_type found) {
                           error = result;
                           addresses = std::move(found);
                           resolved = true;
                         });
  io.run_for(std::chrono::milliseconds(connect_timeout_ms));
  if (!resolved) return unreachable("cannot resolve " + endpoint.host + ": timed out");
  if (error) return unreachable("cannot resolve " + endpoint.host + ": " + error.message());

  beast::tcp_stream stream(io);
  stream.expires_after(std::chrono::milliseconds(connect_timeout_ms));
  stream.async_connect(addresses, [&](const beast::error_code& result, const tcp::endpoint&) {
    error = result;
  });
  io.restart();
  io.run();
  if (error) return unreachable("cannot connect to the node at " + where + ": " + describe(error));

  http::request<http::string_body> request{http::verb::post, endpoint.target, 11};
  const bool ipv6 = endpoint.host.find(':') != std::string::npos;
  request.set(http::field::host, ipv6 ? "[" + endpoint.host + "]:" + endpoint.port : where);
  request.set(http::field::user_agent, "pointchain-wallet");
  request.set(http::field::content_type, "application/json");
  if (!api_token.empty()) request.set(http::field::authorization, "Bearer " + std::string(api_token));
  request.keep_alive(false);
  request.body() = std::move(body);
  request.prepare_payload();

  // One deadline for the whole exchange, write and read.
  stream.expires_after(std::chrono::milliseconds(request_timeout_ms));
  http::async_write(stream, request, [&](const beast::error_code& result, std::size_t) { error = result; });
  io.restart();
  io.run();
  if (error) return unreachable("sending to the node at " + where + " failed: " + describe(error));

  // The header is read on its own: Boost 1.74's parser drops its body_limit error when the
  // header and the start of the body arrive in one read (basic_parser::put goes on parsing
  // the body after finish_header fails), so a whole read of an oversized answer would take
  // it all. The buffer's own cap bounds what a chunk header or an answer without a length
  // can make it hold.
  beast::flat_buffer buffer(response_buffer_bytes_max);
  http::response_parser<http::string_body> parser;
  parser.body_limit(response_body_bytes_max);
  const auto too_large = [] {
    return bad_answer("the node's answer is larger than " + std::to_string(response_body_bytes_max) + " bytes");
  };
  http::async_read_header(stream, buffer, parser, [&](const beast::error_code& result, std::size_t) { error = result; });
  io.restart();
  io.run();
  if (error == http::error::body_limit) return too_large();
  if (error) return unreachable("no answer from the node at " + where + ": " + describe(error));
  if (parser.content_length().value_or(0) > response_body_bytes_max) return too_large();

  http::async_read(stream, buffer, parser, [&](const beast::error_code& result, std::size_t) { error = result; });
  io.restart();
  io.run();
  if (error == http::error::body_limit) return too_large();
  if (error) return unreachable("no answer from the node at " + where + ": " + describe(error));

  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  http::response<http::string_body> response = parser.release();
  return HttpAnswer{response.result_int(), std::move(response.body())};
}

}  // namespace

pc::Result<NodeEndpoint, std::string> parse_node_url(std::string_view url) {
  const std::string quoted = "\"" + std::string(url) + "\"";
  constexpr std::string_view scheme = "http://";
  if (url.substr(0, scheme.size()) != scheme) return "node URL " + quoted + " must start with http://";
  url.remove_prefix(scheme.size());

  const std::size_t slash = url.find('/');
  const std::string_view authority = url.substr(0, slash);
  NodeEndpoint endpoint;
  endpoint.target = slash == std::string_view::npos ? "/" : std::string(url.substr(slash));

  std::string_view port_part;
  if (!authority.empty() && authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return "node URL " + quoted + " has an unclosed [";
    endpoint.host = std::string(authority.substr(1, close - 1));
    port_part = authority.substr(close + 1);
  } else {
    const std::size_t colon = authority.rfind(':');
    endpoint.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_part = authority.substr(colon);
  }
  if (endpoint.host.empty()) return "node URL " + quoted + " names no host";

  if (port_part.empty()) {
    endpoint.port = "80";
    return endpoint;
  }
  if (port_part.front() != ':') return "node URL " + quoted + " is malformed after the host";
  port_part.remove_prefix(1);
  unsigned port = 0;
  const auto [end, status] = std::from_chars(port_part.data(), port_part.data() + port_part.size(), port);
  if (status != std::errc() || end != port_part.data() + port_part.size() || port == 0 || port > 65535) {
    return "node URL " + quoted + " has a bad port";
  }
  endpoint.port = std::string(port_part);
  return endpoint;
}

pc::Result<Json, RpcFailure> NodeClient::call(std::string_view method, const Json& params,
                                              std::string_view api_token) {
  const std::uint64_t request_id = next_request_id_++;
  const Json request = {{"jsonrpc", "2.0"}, {"id", request_id}, {"method", method}, {"params", params}};
  auto answer = post(endpoint_, request.dump(), api_token);
  if (!answer) return answer.error();

  const Json response = Json::parse(answer->body, nullptr, /*allow_exceptions=*/false);
  const std::string context = std::string(method) + " (HTTP " + std::to_string(answer->status) + ")";
  if (response.is_discarded() || !response.is_object()) {
    return bad_answer("the node's answer to " + context + " is not a JSON object");
  }
  if (const auto error = response.find("error"); error != response.end()) {
    if (!error->is_object() || !error->contains("code") || !(*error)["code"].is_number_integer()) {
      return bad_answer("the node's answer to " + context + " has a malformed error object");
    }
    RpcFailure failure{RpcFailure::Kind::error, (*error)["code"].get<std::int64_t>(), {}, {}, {}};
    failure.message = error->value("message", std::string("(no message)"));
    if (const auto data = error->find("data"); data != error->end() && data->is_object()) {
      if (data->contains("name") && (*data)["name"].is_string()) failure.name = (*data)["name"];
      if (data->contains("detail") && (*data)["detail"].is_string()) failure.detail = (*data)["detail"];
    }
    return failure;
  }
  const auto result = response.find("result");
  if (result == response.end()) return bad_answer("the node's answer to " + context + " has no result");
  if (response.value("id", Json()) != Json(request_id)) {
    return bad_answer("the node's answer to " + context + " carries another request's id");
  }
  return *result;
}

}  // namespace pc::wallet
