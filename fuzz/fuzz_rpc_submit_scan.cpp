// rpc::scan_submit_requests on arbitrary text, checked against nlohmann's parser (the general
// path's): a body the scanner takes must be valid JSON meaning exactly what the scanner says
// (a batch or one request; each request an object of jsonrpc "2.0", method
// submit_transaction, params {hex} and an id whose printed form is the scanned id text, or
// none), so the fast path can never answer a body the general path would read otherwise.
// A body it leaves is the general path's, so nothing is checked of it.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string_view>

#include "fuzz/fuzz_check.hpp"
#include "rpc/submit_scan.hpp"


namespace {

// rpc/limits.hpp's batch_count_max; small here too, so that the limit itself is reached.
constexpr std::size_t requests_max = 100;

void check_request(const nlohmann::json& request, const pc::rpc::ScannedSubmit& scanned) {
  FUZZ_CHECK(request.is_object());
  const std::size_t members = scanned.id_json.empty() ? 3 : 4;
  FUZZ_CHECK(request.size() == members);
  FUZZ_CHECK(request.contains("jsonrpc") && request["jsonrpc"] == "2.0");
  FUZZ_CHECK(request.contains("method") && request["method"] == "submit_transaction");
  FUZZ_CHECK(request.contains("params") && request["params"].is_object() && request["params"].size() == 1);
  const nlohmann::json& hex = request["params"]["hex"];
  FUZZ_CHECK(hex.is_string() && hex.get<std::string>() == scanned.hex);
  if (scanned.id_json.empty()) {
    FUZZ_CHECK(!request.contains("id"));
    return;
  }
  const nlohmann::json& id = request["id"];
  // What Dispatcher::parse_call takes as an id, printed as the answer prints it.
  FUZZ_CHECK(id.is_string() || id.is_number_integer() || id.is_null());
  FUZZ_CHECK(id.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) == scanned.id_json);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  const auto scanned = pc::rpc::scan_submit_requests(body, requests_max);
  if (!scanned) return 0;
  FUZZ_CHECK(!scanned->requests.empty() && scanned->requests.size() <= requests_max);
  const nlohmann::json parsed = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  FUZZ_CHECK(!parsed.is_discarded());
  if (!scanned->batch) {
    FUZZ_CHECK(scanned->requests.size() == 1);
    check_request(parsed, scanned->requests[0]);
    return 0;
  }
  FUZZ_CHECK(parsed.is_array() && parsed.size() == scanned->requests.size());
  for (std::size_t i = 0; i < parsed.size(); ++i) check_request(parsed[i], scanned->requests[i]);
  return 0;
}
