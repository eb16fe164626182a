#include "rpc/dispatcher.hpp"

#include <sodium/utils.h>

#include <array>
#include <unordered_map>

#include "crypto/check.hpp"
#include "crypto/address.hpp"
#include "crypto/referral_code.hpp"
#include "ledger/protocol.hpp"
#include "ledger/voucher.hpp"
#include "node/report_command.hpp"
#include "node/statement.hpp"
#include "node/audit_command.hpp"
#include "rpc/json_views.hpp"
#include "rpc/metrics.hpp"
#include "rpc/params.hpp"
#include "rpc/submit_scan.hpp"

namespace pc::rpc {

using nlohmann::json;

// Per handle() call: the authorization header, checked at most once however many partner
// methods a batch holds.
struct Dispatcher::Context {
  std::string_view authorization;
  SessionMethods* session = nullptr;
  std::optional<std::optional<RpcError>> token_check;  // outer empty: not checked yet
  // Outcomes of submit_transaction requests already handed to the node together (see
  // submit_run), by their params object.
  std::unordered_map<const json*, MethodResult> submitted;
};

// A well-formed request's parts.
struct Dispatcher::Call {
  const json* id = nullptr;
  const std::string* method = nullptr;
  const json* params = nullptr;
  bool notification = false;
};

struct Dispatcher::Method {
  std::string_view name;
  MethodResult (Dispatcher::*handler)(const json&);
  bool partner_only;
};

namespace {

RpcError request_error(std::int32_t code, std::string message) { return RpcError{code, std::move(message), nullptr}; }

// Takes the outcome to move its result in: a deep copy of a large answer (a block, a
// transaction with its proof) cost as much as building it.
json response(const json& id, MethodResult outcome) {
  json out = {{"jsonrpc", "2.0"}, {"id", id}};
  if (outcome) {
    out["result"] = std::move(outcome).value();
  } else {
    out["error"] = outcome.error().to_json();
  }
  return out;
}

json error_response(const json& id, const RpcError& error) { return response(id, MethodResult(error)); }

bool valid_id(const json& id) {
  return id.is_string() || id.is_number_integer() || id.is_null();  // is_number_integer: signed or unsigned
}

// "Bearer <token>", the scheme case-insensitive (RFC 7235); the token as given.
std::optional<std::string_view> bearer_token(std::string_view authorization) {
  constexpr std::string_view scheme = "bearer ";
  if (authorization.size() < scheme.size()) return std::nullopt;
  for (std::size_t i = 0; i < scheme.size(); ++i) {
    const char c = authorization[i];
    const char lower = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    if (lower != scheme[i]) return std::nullopt;
  }
  return authorization.substr(scheme.size());
}

json breakdown_json(const node::rules::Breakdown& breakdown) {
  json contributions = json::array();
  for (const node::rules::Contribution& contribution : breakdown.contributions) {
    contributions.push_back({{"rule", contribution.rule},
                             {"kind", contribution.kind},
                             {"points", contribution.points},
                             {"note", contribution.note}});
  }
  return contributions;
}

json referral_json(const node::rules::ReferralAward& referral) {
  return json{{"rule", referral.rule},
              {"referrer", crypto::encode_address(referral.referrer)},
              {"referred_code", crypto::format_referral_code(referral.referred_code)},
              {"referrer_points", referral.referrer_points},
              {"referred_points", referral.referred_points},
              {"note", referral.note}};
}

// `reference` and the breakdown only when earning rules made them (the reference then holds
// the rule set's tag): a plain earn's answer stays what it was.
json earn_result_json(const node::EarnResult& result, const std::string& order_id) {
  json out{{"id", hash_hex(result.tx_id)}, {"points", result.points}, {"already_known", result.already_known}};
  if (result.reference != order_id && !result.reference.empty()) out["reference"] = result.reference;
  if (result.breakdown) {
    out["capped"] = result.breakdown->capped;
    out["breakdown"] = breakdown_json(*result.breakdown);
    if (result.breakdown->referral) {
      json referral = referral_json(*result.breakdown->referral);
      if (result.referred_tx_id) referral["referred_id"] = hash_hex(*result.referred_tx_id);
      if (result.referrer_tx_id) referral["referrer_id"] = hash_hex(*result.referrer_tx_id);
      if (result.referral_refused) referral["refused"] = application_error(*result.referral_refused).to_json();
      out["referral"] = std::move(referral);
    }
  }
  if (result.tier) {
    out["tier"] = *result.tier;
    out["multiplier_bp"] = result.multiplier_bp;
    out["credited_points"] = result.credited_points;
  }
  return out;
}

json rules_info_json(const std::optional<node::RulesInfo>& info) {
  if (!info) return nullptr;
  return json{{"hash", hash_hex(info->hash)}, {"tag", info->tag}};
}

json id_json(const ledger::Hash256& tx_id) { return json{{"id", hash_hex(tx_id)}}; }

}  // namespace

Dispatcher::Dispatcher(node::Node& node, DispatcherOptions options)
    : node_(node),
      api_token_(node.config().api_token),
      rate_limiter_(options.rate_limit, std::move(options.now_ms)),
      network_info_(std::move(options.network_info)),
      scan_submissions_(options.scan_submissions) {}

Reply Dispatcher::metrics(std::string_view client_id) {
  if (!rate_limiter_.try_take(client_id, 1)) {
    return Reply{429, error_response_body(request_error(
                          error_code::rate_limited, "rate limited: too many requests from this address; retry later"))};
  }
  const node::NetworkInfo network = network_info_ ? network_info_() : node::NetworkInfo{};
  return Reply{200, metrics_text(node_.chain_info(), node_.metrics(), network)};
}

Reply Dispatcher::handle(std::string_view body, std::string_view authorization, std::string_view client_id,
                         SessionMethods* session) {
  // A session may answer any method itself (SessionMethods), so its bodies take the general path.
  if (session == nullptr && scan_submissions_) {
    if (std::optional<Reply> reply = handle_submissions(body, client_id)) return std::move(*reply);
  }
  // nlohmann's parser keeps its own stack (no recursion), so deep nesting cannot overflow ours.
  const json parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);
  const std::uint64_t cost = parsed.is_array() && !parsed.empty() ? parsed.size() : 1;
  if (!rate_limiter_.try_take(client_id, cost)) {
    return Reply{429, error_response_body(request_error(
                          error_code::rate_limited, "rate limited: too many requests from this address; retry later"))};
  }
  if (parsed.is_discarded()) {
    return Reply{200, error_response_body(request_error(error_code::parse_error, "parse error: not valid JSON"))};
  }
  Context context{authorization, session, std::nullopt, {}};
  if (!parsed.is_array()) {
    std::optional<json> answer = handle_one(parsed, context);
    if (!answer) return Reply{204, {}};
    return Reply{200, serialize(*answer)};
  }
  if (parsed.empty()) {
    return Reply{200, error_response_body(request_error(error_code::invalid_request, "invalid request: empty batch"))};
  }
  if (parsed.size() > batch_count_max) {
    return Reply{200, error_response_body(request_error(
                          error_code::batch_too_large, "batch too large: " + std::to_string(parsed.size()) +
                                                           " requests, at most " + std::to_string(batch_count_max)))};
  }
  json answers = json::array();
  std::size_t run_end = 0;
  for (std::size_t i = 0; i < parsed.size(); ++i) {
    if (i >= run_end) run_end = submit_run(parsed, i, context);
    if (std::optional<json> answer = handle_one(parsed[i], context)) answers.push_back(std::move(*answer));
  }
  if (answers.empty()) return Reply{204, {}};
  return Reply{200, serialize(answers)};
}

pc::Result<Dispatcher::Call, json> Dispatcher::parse_call(const json& request) {
  static const json null_id = nullptr;
  static const json empty_params = json::object();
  if (!request.is_object()) {
    return error_response(null_id, request_error(error_code::invalid_request, "invalid request: expected an object"));
  }
  Call call;
  const auto id_member = request.find("id");
  call.notification = id_member == request.end();
  if (!call.notification && !valid_id(*id_member)) {
    return error_response(null_id, request_error(error_code::invalid_request,
                                                 "invalid request: id must be a string, an integer or null"));
  }
  call.id = call.notification ? &null_id : &*id_member;
  const json& id = *call.id;
  for (const auto& member : request.items()) {
    const std::string& key = member.key();
    if (key != "jsonrpc" && key != "id" && key != "method" && key != "params") {
      return error_response(id, request_error(error_code::invalid_request, "invalid request: unknown member " + key));
    }
  }
  const auto version = request.find("jsonrpc");
  if (version == request.end() || !version->is_string() || version->get<std::string>() != "2.0") {
    return error_response(id, request_error(error_code::invalid_request, "invalid request: jsonrpc must be \"2.0\""));
  }
  const auto method = request.find("method");
  if (method == request.end() || !method->is_string()) {
    return error_response(id, request_error(error_code::invalid_request, "invalid request: method must be a string"));
  }
  call.method = &method->get_ref<const std::string&>();
  const auto params = request.find("params");
  if (params != request.end() && !params->is_object() && !params->is_array()) {
    return error_response(id, request_error(error_code::invalid_request,
                                            "invalid request: params must be an object or an array"));
  }
  call.params = params == request.end() ? &empty_params : &*params;
  return call;
}

std::optional<json> Dispatcher::handle_one(const json& request, Context& context) {
  auto call_parts = parse_call(request);
  if (!call_parts) return call_parts.error();
  const Call& parts = *call_parts;
  MethodResult outcome = [&]() -> MethodResult {
    try {
      return call(*parts.method, *parts.params, context);
    } catch (const std::exception& error) {
      return request_error(error_code::internal_error, std::string("internal error: ") + error.what());
    }
  }();
  if (parts.notification) return std::nullopt;
  return response(*parts.id, std::move(outcome));
}

std::size_t Dispatcher::submit_run(const json& batch, std::size_t first, Context& context) {
  // The transaction bytes of a well-formed submit_transaction request (nullopt otherwise:
  // handle_one answers it the ordinary way).
  const auto submission = [&](const json& request) -> std::optional<std::pair<const json*, Bytes>> {
    if (context.session != nullptr) return std::nullopt;  // a session may answer any method itself
    auto parts = parse_call(request);
    if (!parts || *parts->method != "submit_transaction") return std::nullopt;
    Params reader(*parts->params, {"hex"});
    Bytes bytes = reader.hex("hex");
    if (reader.error()) return std::nullopt;
    return std::make_pair(parts->params, std::move(bytes));
  };
  std::vector<const json*> keys;
  std::vector<Bytes> txs;
  for (std::size_t i = first; i < batch.size(); ++i) {
    auto next = submission(batch[i]);
    if (!next) break;
    keys.push_back(next->first);
    txs.push_back(std::move(next->second));
  }
  if (txs.size() < 2) return first;
  try {
    std::vector<ledger::Result<ledger::Hash256>> results = node_.submit_batch(txs);
    for (std::size_t i = 0; i < keys.size(); ++i) {
      context.submitted.emplace(keys[i], results[i] ? MethodResult(id_json(*results[i]))
                                                    : MethodResult(application_error(results[i].error())));
    }
  } catch (const std::exception& error) {
    for (const json* key : keys) {
      context.submitted.emplace(key, request_error(error_code::internal_error, std::string("internal error: ") + error.what()));
    }
  }
  return first + keys.size();
}

namespace {

// The answers to a submit_transaction request that the general path would print as
// response(id, outcome), byte for byte: members in its (sorted) order, "error" or "id" first.
void append_error_answer(std::string& out, std::string_view request_id, const RpcError& error) {
  out += "{\"error\":";
  out += serialize(error.to_json());
  out += ",\"id\":";
  out += request_id;
  out += ",\"jsonrpc\":\"2.0\"}";
}

// With the result {"id":"<64 hex>"}, as serialize(id_json(tx_id)) prints it.
void append_accepted_answer(std::string& out, std::string_view request_id, const ledger::Hash256& tx_id) {
  static constexpr char digits[] = "0123456789abcdef";
  out += "{\"id\":";
  out += request_id;
  out += ",\"jsonrpc\":\"2.0\",\"result\":{\"id\":\"";
  const std::size_t start = out.size();
  out.resize(start + 2 * tx_id.size());
  for (std::size_t i = 0; i < tx_id.size(); ++i) {
    out[start + 2 * i] = digits[tx_id[i] >> 4];
    out[start + 2 * i + 1] = digits[tx_id[i] & 0x0f];
  }
  out += "\"}}";
}

}  // namespace

std::optional<Reply> Dispatcher::handle_submissions(std::string_view body, std::string_view client_id) {
  std::optional<ScannedSubmits> scanned = scan_submit_requests(body, batch_count_max);
  if (!scanned) return std::nullopt;
  const std::vector<ScannedSubmit>& requests = scanned->requests;
  std::vector<Bytes> txs;
  txs.reserve(requests.size());
  for (const ScannedSubmit& request : requests) {
    std::optional<Bytes> bytes = from_hex(request.hex);
    // An odd length: the general path names the field in its error, and ends the run there.
    if (!bytes) return std::nullopt;
    txs.push_back(std::move(*bytes));
  }
  // What the general path charges: one token per request of a batch.
  if (!rate_limiter_.try_take(client_id, requests.size())) {
    return Reply{429, error_response_body(request_error(
                          error_code::rate_limited, "rate limited: too many requests from this address; retry later"))};
  }
  // As the general path hands them over: a run of two or more to Node::submit_batch
  // (submit_run), a lone request to Node::submit (handle_one); an exception is an internal
  // error for each request it concerns.
  std::vector<ledger::Result<ledger::Hash256>> results;
  std::optional<RpcError> failure;
  try {
    if (txs.size() >= 2) {
      results = node_.submit_batch(txs);
    } else {
      results.push_back(node_.submit(txs.front()));
    }
  } catch (const std::exception& error) {
    failure = request_error(error_code::internal_error, std::string("internal error: ") + error.what());
  }
  // About 110 bytes per accepted answer plus the id.
  constexpr std::size_t answer_bytes_typical = 128;
  std::string out;
  out.reserve(requests.size() * answer_bytes_typical);
  if (scanned->batch) out += '[';
  bool answered = false;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const std::string_view request_id = requests[i].id_json;
    if (request_id.empty()) continue;  // a notification
    if (answered) out += ',';
    answered = true;
    if (failure) {
      append_error_answer(out, request_id, *failure);
    } else if (results[i]) {
      append_accepted_answer(out, request_id, *results[i]);
    } else {
      append_error_answer(out, request_id, application_error(results[i].error()));
    }
  }
  if (!answered) return Reply{204, {}};
  if (scanned->batch) out += ']';
  return Reply{200, std::move(out)};
}

std::optional<RpcError> Dispatcher::check_token(std::string_view authorization) const {
  if (api_token_.empty()) {
    return request_error(error_code::unauthorized,
                         "unauthorized: partner methods are disabled on this node (no api_token configured)");
  }
  if (authorization.empty()) {
    return request_error(error_code::unauthorized,
                         "unauthorized: partner methods need the header Authorization: Bearer <api_token>");
  }
  const std::optional<std::string_view> token = bearer_token(authorization);
  // The length check comes first (sodium_memcmp needs equal lengths); it reveals only the
  // token's length, and the bytes are compared in constant time.
  if (!token || token->size() != api_token_.size() ||
      sodium_memcmp(token->data(), api_token_.data(), api_token_.size()) != 0) {
    return request_error(error_code::unauthorized, "unauthorized: wrong API token");
  }
  return std::nullopt;
}

MethodResult Dispatcher::call(std::string_view method, const json& params, Context& context) {
  // Every method a client may call, and whether it needs the partner token.
  static constexpr std::array<Method, 36> methods = {{
      {"chain_info", &Dispatcher::chain_info, false},
      {"get_block", &Dispatcher::get_block, false},
      {"get_transaction", &Dispatcher::get_transaction, false},
      {"get_account", &Dispatcher::get_account, false},
      {"submit_transaction", &Dispatcher::submit_transaction, false},
      {"get_partners", &Dispatcher::get_partners, false},
      {"get_settlement", &Dispatcher::get_settlement, false},
      {"get_report", &Dispatcher::get_report, false},
      {"get_statement", &Dispatcher::get_statement, false},
      {"get_evidence", &Dispatcher::get_evidence, false},
      {"net_info", &Dispatcher::net_info, false},
      {"consensus_state", &Dispatcher::consensus_state, false},
      {"earn", &Dispatcher::earn, true},
      {"earn_batch", &Dispatcher::earn_batch, true},
      {"return", &Dispatcher::return_purchase, true},
      {"bonus", &Dispatcher::bonus, true},
      {"quote", &Dispatcher::quote, true},
      {"reload_rules", &Dispatcher::reload_rules, true},
      {"webhook_status", &Dispatcher::webhook_status, true},
      {"earn_event", &Dispatcher::earn_event, true},
      {"get_referral_code", &Dispatcher::get_referral_code, false},
      {"get_rewards", &Dispatcher::get_rewards, false},
      {"get_vouchers", &Dispatcher::get_vouchers, false},
      {"publish_reward", &Dispatcher::publish_reward, true},
      {"grant_tier", &Dispatcher::grant_tier, true},
      {"check_voucher", &Dispatcher::check_voucher, true},
      {"use_voucher", &Dispatcher::use_voucher, true},
      {"get_stamp_cards", &Dispatcher::get_stamp_cards, false},
      {"get_badges", &Dispatcher::get_badges, false},
      {"get_leaderboard", &Dispatcher::get_leaderboard, false},
      {"define_stamp_card", &Dispatcher::define_stamp_card, true},
      {"define_badge", &Dispatcher::define_badge, true},
      {"award_badge", &Dispatcher::award_badge, true},
      {"set_point_value", &Dispatcher::set_point_value, true},
      {"create_payment_request", &Dispatcher::create_payment_request, true},
      {"get_payment_request", &Dispatcher::get_payment_request, false},
  }};
  if (context.session != nullptr) {
    if (std::optional<MethodResult> outcome = context.session->call(method, params)) return std::move(*outcome);
  }
  if (auto submitted = context.submitted.find(&params); submitted != context.submitted.end()) {
    return std::move(submitted->second);
  }
  for (const Method& entry : methods) {
    if (entry.name != method) continue;
    if (entry.partner_only) {
      if (!context.token_check) context.token_check = check_token(context.authorization);
      if (*context.token_check) return **context.token_check;
    }
    return (this->*entry.handler)(params);
  }
  if (method == "subscribe" || method == "unsubscribe") {
    return request_error(error_code::method_not_found,
                         "method not found: " + std::string(method) + " is only available on the WebSocket at /ws");
  }
  return request_error(error_code::method_not_found, "method not found: " + std::string(method));
}

// ---- public methods ----

MethodResult Dispatcher::chain_info(const json& params) {
  Params reader(params, {});
  if (reader.error()) return *reader.error();
  return chain_info_json(node_.chain_info());
}

MethodResult Dispatcher::get_block(const json& params) {
  Params reader(params, {"height", "hash"});
  if (reader.error()) return *reader.error();
  if (reader.has("height") == reader.has("hash")) {
    return invalid_params("params", "give exactly one of height and hash");
  }
  if (reader.has("height")) {
    const std::uint64_t height = reader.unsigned_integer("height");
    if (reader.error()) return *reader.error();
    auto block = node_.block_at(height);
    if (!block) return application_error(block.error());
    return block_json(*block);
  }
  const ledger::Hash256 hash = reader.hash("hash");
  if (reader.error()) return *reader.error();
  auto block = node_.block_by_hash(hash);
  if (!block) return application_error(block.error());
  return block_json(*block);
}

MethodResult Dispatcher::get_transaction(const json& params) {
  Params reader(params, {"id"});
  const ledger::Hash256 tx_id = reader.hash("id");
  if (reader.error()) return *reader.error();
  auto status = node_.transaction(tx_id);
  if (!status) return application_error(status.error());
  // The root comes with the status: reading the block again would decode all of it twice.
  return transaction_status_json(*status, status->merkle_root);
}

MethodResult Dispatcher::get_account(const json& params) {
  Params reader(params, {"address", "history_limit", "history_before_height", "history_before_position"});
  // A lookup: an invalid key simply has no account (see crypto::KeyCheck).
  const crypto::PublicKey key = reader.address("address", crypto::KeyCheck::checksum_only);
  const std::uint64_t limit = reader.optional_unsigned_integer("history_limit", history_limit_max).value_or(history_limit_default);
  node::HistoryCursor before;
  before.height = reader.optional_unsigned_integer("history_before_height").value_or(0);
  before.position = static_cast<std::uint32_t>(
      reader.optional_unsigned_integer("history_before_position", UINT32_MAX).value_or(0));
  if (reader.error()) return *reader.error();
  const node::AccountView view = node_.account(key);
  const std::vector<node::HistoryEntry> history =
      limit == 0 ? std::vector<node::HistoryEntry>{} : node_.history(key, before, static_cast<std::size_t>(limit));
  const std::uint64_t tip_time_ms = node_.chain_info().tip.time_ms;
  json result = account_json(view, history, tip_time_ms, node_.genesis().policy.point_expiry_days);
  result["tier"] = view.tier ? tier_json(*view.tier, node_.genesis().policy.tiers) : json(nullptr);
  json expiries = json::array();
  for (const node::ExpiryGroup& group : node::expiry_schedule(view.account, node_.genesis().policy.point_expiry_days)) {
    expiries.push_back({{"date", node::iso_date(static_cast<node::Day>(group.day))},
                        {"first_expiry_ms", group.first_expiry_ms},
                        {"points", group.points}});
  }
  result["expiries"] = std::move(expiries);
  // A full page may have more behind it: the cursor of its last entry asks for the next one.
  result["history_next"] = nullptr;
  if (limit > 0 && history.size() == limit) {
    result["history_next"] = {{"history_before_height", history.back().height},
                              {"history_before_position", history.back().position}};
  }
  return result;
}

MethodResult Dispatcher::submit_transaction(const json& params) {
  Params reader(params, {"hex"});
  const Bytes bytes = reader.hex("hex");
  if (reader.error()) return *reader.error();
  auto tx_id = node_.submit(bytes);
  if (!tx_id) return application_error(tx_id.error());
  return id_json(*tx_id);
}

MethodResult Dispatcher::get_partners(const json& params) {
  Params reader(params, {});
  if (reader.error()) return *reader.error();
  json partners = partners_json(node_.partners());
  if (ledger::has_points_payments(node_.genesis().protocol_version)) {
    add_payment_figures(partners, node_.point_values(), node_.payment_totals());
  }
  if (const auto& billing = node_.genesis().policy.billing) add_billing(partners, *billing, node_.prepaid_balances());
  return partners;
}

MethodResult Dispatcher::get_settlement(const json& params) {
  Params reader(params, {"money"});
  const bool money = reader.has("money") && reader.boolean("money");
  if (reader.error()) return *reader.error();
  if (!money) return settlement_json(node_.settlement());
  return json{{"matrix", settlement_json(node_.settlement())}, {"paid_with_points", payment_totals_json(node_.payment_totals())}};
}

MethodResult Dispatcher::get_report(const json& params) {
  Params reader(params, {"from", "to", "partner", "period", "top_rewards", "point_value", "format"});
  node::ReportQueryText text;
  text.from = reader.text("from");
  text.to = reader.text("to");
  if (auto partner = reader.optional_unsigned_integer("partner", 65'535)) text.partner = std::to_string(*partner);
  if (reader.has("period")) text.period = reader.text("period");
  if (auto top = reader.optional_unsigned_integer("top_rewards", node::report_top_rewards_max)) {
    text.top_rewards = std::to_string(*top);
  }
  if (reader.has("point_value")) text.point_value = reader.text("point_value");
  const std::string format = reader.has("format") ? reader.text("format") : "json";
  if (reader.error()) return *reader.error();
  if (format != "json" && format != "csv") return invalid_params("format", "must be json or csv");
  auto query = node::parse_report_query(text);
  if (!query) return application_error(query.error());
  auto report = node_.report(*query);
  if (!report) return application_error(report.error());
  if (format == "csv") return json{{"csv", node::report_csv(*report)}, {"rewards_csv", node::report_rewards_csv(*report)}};
  return node::report_json(*report);
}

MethodResult Dispatcher::get_statement(const json& params) {
  Params reader(params, {"partner", "period", "height", "format"});
  node::StatementQueryText text;
  text.partner = std::to_string(reader.unsigned_integer("partner"));
  text.month = reader.text("period");
  if (auto height = reader.optional_unsigned_integer("height")) text.height = std::to_string(*height);
  const std::string format = reader.has("format") ? reader.text("format") : "json";
  if (reader.error()) return *reader.error();
  if (format != "json" && format != "csv") return invalid_params("format", "must be json or csv");
  auto query = node::parse_statement_query(text);
  if (!query) return application_error(query.error());
  // The blocks up to the tip read now never change, so the replay needs no snapshot.
  auto statement = node::compute_statement(node_.genesis(), *query, node_.chain_info().tip.height,
                                           [this](std::uint64_t height) { return node_.block_at(height); });
  if (!statement) return application_error(statement.error());
  if (format == "csv") return json{{"csv", node::statement_csv(*statement)}, {"content_hash", node::statement_content_hash(*statement)}};
  return node::statement_json(*statement);
}

MethodResult Dispatcher::get_evidence(const json& params) {
  Params reader(params, {"cursor", "limit"});
  const std::uint64_t limit = reader.optional_unsigned_integer("limit", node::Node::evidence_page_max)
                                  .value_or(node::Node::evidence_page_max);
  if (!reader.error() && limit == 0) reader.fail("limit", "must be at least 1");
  ledger::EvidencePosition from;
  if (reader.has("cursor")) {
    const Bytes cursor = reader.hex("cursor");
    if (!reader.error()) {
      if (auto position = ledger::EvidencePosition::decode(cursor)) {
        from = *position;
      } else {
        reader.fail("cursor", "must be the 30 hex characters of a next_cursor");
      }
    }
  }
  if (reader.error()) return *reader.error();
  auto page = node_.evidence(from, static_cast<std::size_t>(limit));
  if (!page) return application_error(page.error());
  json evidence = json::array();
  for (const ledger::Evidence& entry : page->evidence) evidence.push_back(node::evidence_json(node_.genesis(), entry));
  return json{{"evidence", std::move(evidence)},
              {"next_cursor", page->next ? json(to_hex(page->next->encode())) : json(nullptr)}};
}

MethodResult Dispatcher::net_info(const json& params) {
  Params reader(params, {});
  if (reader.error()) return *reader.error();
  return net_info_json(node_.genesis(), network_info_ ? network_info_() : node::NetworkInfo{}, node_.chain_info().tip.height);
}

MethodResult Dispatcher::consensus_state(const json& params) {
  Params reader(params, {});
  if (reader.error()) return *reader.error();
  auto state = node_.consensus_state();
  if (!state) return application_error(state.error());
  return consensus_state_json(node_.genesis(), *state);
}

// ---- partner methods ----

namespace {

node::EarnRequest read_purchase(Params& reader) {
  node::EarnRequest purchase;
  // Node::earn checks the key (invalid_public_key); checking it here too would double the cost.
  purchase.customer = reader.address("customer", crypto::KeyCheck::checksum_only);
  purchase.amount_minor = static_cast<std::int64_t>(reader.unsigned_integer("amount_minor", INT64_MAX));
  purchase.currency = reader.text("currency");
  purchase.order_id = reader.text("order_id");
  return purchase;
}

// An order's lines (docs/rpc.md, "earn"): each {sku, category, quantity, unit_price_minor, flags}.
// A line's own problem goes to `line_error`, already naming the line.
node::rules::Order read_order_lines(Params& reader, const std::string& currency, std::optional<RpcError>& line_error) {
  node::rules::Order order;
  order.currency = currency;
  const json& lines = reader.array("lines");
  if (reader.error()) return order;
  if (lines.size() > node::rules::order_lines_max) {
    reader.fail("lines", "at most " + std::to_string(node::rules::order_lines_max) + " lines");
    return order;
  }
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string where = "lines[" + std::to_string(i) + "].";
    Params entry(lines[i], {"sku", "category", "quantity", "unit_price_minor", "flags"}, where);
    node::rules::OrderLine line;
    if (entry.has("sku")) line.sku = entry.text("sku");
    if (entry.has("category")) line.category = entry.text("category");
    if (entry.has("quantity")) {
      line.quantity = static_cast<std::uint32_t>(entry.unsigned_integer("quantity", node::rules::line_quantity_max));
    }
    line.unit_price_minor = static_cast<std::int64_t>(entry.unsigned_integer("unit_price_minor", INT64_MAX));
    if (entry.has("flags")) {
      const json& flags = entry.array("flags");
      if (!entry.error()) {
        for (const json& flag : flags) {
          if (!flag.is_string()) {
            entry.fail("flags", "expected an array of strings");
            break;
          }
          line.flags.push_back(flag.get<std::string>());
        }
      }
    }
    if (entry.error()) {
      line_error = entry.error();
      return order;
    }
    order.lines.push_back(std::move(line));
  }
  return order;
}

// earn and quote: a plain amount_minor, or lines.
struct OrderParams {
  crypto::PublicKey customer{};
  node::rules::Order order;
  std::optional<std::int64_t> amount_minor;  // a plain total
  std::optional<RpcError> line_error;
};

OrderParams read_order(Params& reader) {
  OrderParams out;
  out.customer = reader.address("customer", crypto::KeyCheck::checksum_only);
  const std::string currency = reader.text("currency");
  if (reader.has("lines") == reader.has("amount_minor")) {
    reader.fail("amount_minor", "give either amount_minor or lines");
    return out;
  }
  if (reader.has("lines")) {
    out.order = read_order_lines(reader, currency, out.line_error);
  } else {
    out.amount_minor = static_cast<std::int64_t>(reader.unsigned_integer("amount_minor", INT64_MAX));
    out.order.currency = currency;
    out.order.lines.push_back(node::rules::OrderLine{{}, {}, 1, *out.amount_minor, {}});
  }
  return out;
}

}  // namespace

MethodResult Dispatcher::earn(const json& params) {
  Params reader(params, {"customer", "amount_minor", "lines", "currency", "order_id", "referral_code"});
  const OrderParams order = read_order(reader);
  const std::string order_id = reader.text("order_id");
  std::optional<std::string> referral_code;
  if (reader.has("referral_code")) referral_code = reader.text("referral_code");
  if (reader.error()) return *reader.error();
  if (order.line_error) return *order.line_error;
  // A referral needs earning rules: a plain total with a code goes through them as one line.
  auto earned = order.amount_minor && !referral_code
                    ? node_.earn(order.customer, *order.amount_minor, order.order.currency, order_id)
                    : node_.earn_order(order.customer, order.order, order_id, referral_code);
  if (!earned) return application_error(earned.error());
  return earn_result_json(*earned, order_id);
}

MethodResult Dispatcher::quote(const json& params) {
  Params reader(params, {"customer", "amount_minor", "lines", "currency", "referral_code"});
  const OrderParams order = read_order(reader);
  std::optional<std::string> referral_code;
  if (reader.has("referral_code")) referral_code = reader.text("referral_code");
  if (reader.error()) return *reader.error();
  if (order.line_error) return *order.line_error;
  auto quoted = node_.quote(order.customer, order.order, referral_code);
  if (!quoted) return application_error(quoted.error());
  json out{{"points", quoted->points},
           {"capped", quoted->capped},
           {"breakdown", breakdown_json(*quoted)},
           {"rules", rules_info_json(node_.rules_info())}};
  // On a chain with tiers the chain multiplies the points by the customer's tier at block
  // time; the quote shows the tier now and what it would credit.
  const ledger::TierProgram& program = node_.genesis().policy.tiers;
  if (const std::optional<ledger::TierView> tier = node_.account(order.customer).tier) {
    out["tier"] = tier->tier;
    out["multiplier_bp"] = program.multiplier_bp(tier->tier);
    out["credited_points"] = ledger::multiplied_points(quoted->points, program.multiplier_bp(tier->tier)).value_or(0);
  }
  if (quoted->referral) out["referral"] = referral_json(*quoted->referral);
  return out;
}

MethodResult Dispatcher::get_referral_code(const json& params) {
  Params reader(params, {"customer"});
  const crypto::PublicKey customer = reader.address("customer", crypto::KeyCheck::checksum_only);
  if (reader.error()) return *reader.error();
  auto info = node_.referral_code(customer);
  if (!info) return application_error(info.error());
  return json{{"customer", crypto::encode_address(customer)},
              {"referral_code", crypto::format_referral_code(info->code)},
              {"resolves", info->resolves},
              {"ambiguous", info->ambiguous}};
}

MethodResult Dispatcher::reload_rules(const json& params) {
  Params reader(params, {});
  if (reader.error()) return *reader.error();
  auto reloaded = node_.reload_rules();
  if (!reloaded) return application_error(ledger::Error{ledger::Code::invalid_field, reloaded.error()});
  return json{{"rules", rules_info_json(*reloaded)}};
}

MethodResult Dispatcher::webhook_status(const json& params) {
  Params reader(params, {});
  if (reader.error()) return *reader.error();
  json endpoints = json::array();
  for (const node::WebhookEndpointStatus& endpoint : node_.webhook_status()) {
    endpoints.push_back({{"url", endpoint.url}, {"queued", endpoint.queued}, {"dropped_total", endpoint.dropped_total}});
  }
  return json{{"endpoints", endpoints}};
}

MethodResult Dispatcher::earn_batch(const json& params) {
  Params reader(params, {"purchases"});
  const json& entries = reader.array("purchases");
  if (reader.error()) return *reader.error();
  if (entries.size() > earn_batch_count_max) {
    return request_error(error_code::batch_too_large, "batch too large: purchases has " +
                                                          std::to_string(entries.size()) + " entries, at most " +
                                                          std::to_string(earn_batch_count_max));
  }
  // Every entry is checked before any is earned, so a typo rejects the call as a whole.
  std::vector<node::EarnRequest> purchases;
  purchases.reserve(entries.size());
  for (std::size_t i = 0; i < entries.size(); ++i) {
    Params entry(entries[i], {"customer", "amount_minor", "currency", "order_id"},
                 "purchases[" + std::to_string(i) + "].");
    purchases.push_back(read_purchase(entry));
    if (entry.error()) return *entry.error();
  }
  // One writer event for the whole batch (Node::earn_batch).
  const std::vector<ledger::Result<node::EarnResult>> earned = node_.earn_batch(purchases);
  PC_CHECK(earned.size() == purchases.size());
  json results = json::array();
  for (std::size_t i = 0; i < purchases.size(); ++i) {
    if (earned[i]) {
      results.push_back(earn_result_json(*earned[i], purchases[i].order_id));
    } else {
      results.push_back({{"error", application_error(earned[i].error()).to_json()}});
    }
  }
  return json{{"results", std::move(results)}};
}

MethodResult Dispatcher::return_purchase(const json& params) {
  Params reader(params, {"order_id", "amount_minor"});
  const std::string order_id = reader.text("order_id");
  const std::optional<std::uint64_t> amount_minor = reader.optional_unsigned_integer("amount_minor", INT64_MAX);
  if (reader.error()) return *reader.error();
  // With amount_minor, the returned part of the order; without, the whole order.
  auto tx_id = amount_minor ? node_.return_part(order_id, *amount_minor) : node_.return_purchase(order_id);
  if (!tx_id) return application_error(tx_id.error());
  return id_json(*tx_id);
}

MethodResult Dispatcher::bonus(const json& params) {
  Params reader(params, {"customer", "points", "reason", "reference"});
  const crypto::PublicKey customer = reader.address("customer", crypto::KeyCheck::checksum_only);  // as in earn
  const std::uint64_t points = reader.unsigned_integer("points");
  const std::string reason_text = reader.text("reason");
  const std::string reference = reader.text("reference");
  if (reader.error()) return *reader.error();
  const std::optional<ledger::Reason> reason = ledger::reason_from_name(reason_text);
  // Purchases are earned through earn, which records the purchase itself.
  if (!reason || *reason == ledger::Reason::purchase) {
    return invalid_params("reason", "expected one of referral, review, social, bonus, cashback");
  }
  auto issued = node_.bonus(customer, points, *reason, reference);
  if (!issued) return application_error(issued.error());
  return earn_result_json(*issued, reference);
}

MethodResult Dispatcher::earn_event(const json& params) {
  Params reader(params, {"customer", "event", "event_id"});
  const crypto::PublicKey customer = reader.address("customer", crypto::KeyCheck::checksum_only);  // as in earn
  const std::string event = reader.text("event");
  const std::string event_id = reader.text("event_id");
  if (reader.error()) return *reader.error();
  auto issued = node_.earn_event(customer, event, event_id);
  if (!issued) return application_error(issued.error());
  return earn_result_json(*issued, {});
}

// ---- rewards and vouchers ----

namespace {

json reward_json(const node::RewardView& view) {
  const ledger::RewardRecord& record = view.record;
  return json{{"partner", view.partner},          {"reward_id", view.reward_id},
              {"terms", reward_terms_json(record.terms)}, {"redeemable_now", view.redeemable_now},
              {"redeemed", record.redeemed},       {"revision", record.revision},
              {"updated_height", record.updated_height}};
}

json voucher_json(const node::VoucherView& view) {
  const ledger::Voucher& voucher = view.voucher;
  return json{{"partner", view.partner},
              {"code", ledger::format_voucher_code(view.code)},
              {"reward_id", voucher.reward_id},
              {"reward_name", view.reward_name},
              {"customer", crypto::encode_address(voucher.customer)},
              {"redeemed_at_ms", voucher.redeemed_at_ms},
              {"status", voucher.used_at_ms == 0 ? "valid" : "used"},
              {"used_at_ms", voucher.used_at_ms == 0 ? json(nullptr) : json(voucher.used_at_ms)}};
}

// A voucher code as typed at a till or in a wallet; invalid_params when it is not one.
std::string read_voucher_code(Params& reader) {
  const std::string text = reader.text("code");
  if (reader.error()) return {};
  auto code = ledger::parse_voucher_code(text);
  if (!code) reader.fail("code", "expected a voucher code: 12 characters of 0-9 and A-Z without I, L, O, U");
  return code.value_or("");
}

}  // namespace

MethodResult Dispatcher::get_rewards(const json& params) {
  Params reader(params, {"partner", "cost_points_max", "affordable_for", "include_unavailable", "after_partner",
                         "after_reward_id", "limit"});
  node::RewardQuery query;
  if (auto partner = reader.optional_unsigned_integer("partner", UINT16_MAX)) query.partner = static_cast<ledger::PartnerId>(*partner);
  query.cost_points_max = reader.optional_unsigned_integer("cost_points_max");
  if (reader.has("affordable_for")) query.affordable_for = reader.address("affordable_for", crypto::KeyCheck::checksum_only);
  if (reader.has("include_unavailable")) query.include_unavailable = reader.boolean("include_unavailable");
  if (reader.has("after_partner") != reader.has("after_reward_id")) {
    reader.fail("after_partner", "give after_partner and after_reward_id together (a next cursor)");
  }
  if (reader.has("after_partner")) {
    const auto partner = static_cast<ledger::PartnerId>(reader.unsigned_integer("after_partner", UINT16_MAX));
    query.after = ledger::RewardKey{partner, static_cast<std::uint32_t>(reader.unsigned_integer("after_reward_id", UINT32_MAX))};
  }
  query.limit = reader.optional_unsigned_integer("limit", node::rewards_page_max).value_or(node::rewards_page_max);
  if (reader.error()) return *reader.error();
  if (query.partner && node_.genesis().partner(*query.partner) == nullptr) {
    return application_error(ledger::Error{ledger::Code::unknown_partner, "partner " + std::to_string(*query.partner)});
  }
  auto page = node_.rewards(query);
  if (!page) return application_error(page.error());
  json rewards = json::array();
  for (const node::RewardView& view : page->rewards) rewards.push_back(reward_json(view));
  json next = nullptr;
  if (page->next) next = {{"after_partner", page->next->first}, {"after_reward_id", page->next->second}};
  return json{{"rewards", std::move(rewards)}, {"next", std::move(next)}};
}

MethodResult Dispatcher::get_vouchers(const json& params) {
  Params reader(params, {"address", "after_partner", "after_code", "limit"});
  const crypto::PublicKey customer = reader.address("address", crypto::KeyCheck::checksum_only);
  std::optional<std::pair<ledger::PartnerId, std::string>> after;
  if (reader.has("after_partner") != reader.has("after_code")) {
    reader.fail("after_partner", "give after_partner and after_code together (a next cursor)");
  }
  if (reader.has("after_partner")) {
    const auto partner = static_cast<ledger::PartnerId>(reader.unsigned_integer("after_partner", UINT16_MAX));
    const std::string code = ledger::parse_voucher_code(reader.text("after_code")).value_or("");
    if (!reader.error() && code.empty()) reader.fail("after_code", "expected a voucher code");
    after = std::pair{partner, code};
  }
  const std::uint64_t limit = reader.optional_unsigned_integer("limit", node::vouchers_page_max).value_or(node::vouchers_page_max);
  if (reader.error()) return *reader.error();
  auto page = node_.vouchers(customer, after, static_cast<std::size_t>(limit));
  if (!page) return application_error(page.error());
  json vouchers = json::array();
  for (const node::VoucherView& view : page->vouchers) vouchers.push_back(voucher_json(view));
  json next = nullptr;
  if (page->next) next = {{"after_partner", page->next->first}, {"after_code", page->next->second}};
  return json{{"vouchers", std::move(vouchers)}, {"next", std::move(next)}};
}

MethodResult Dispatcher::publish_reward(const json& params) {
  Params reader(params, {"reward_id", "name", "cost_points", "stock", "limit_per_customer", "limit_per_period",
                         "period_days", "valid_from_ms", "valid_until_ms", "min_tier", "active"});
  const auto reward_id = static_cast<std::uint32_t>(reader.unsigned_integer("reward_id", UINT32_MAX));
  ledger::RewardTerms terms;
  terms.name = reader.text("name");
  terms.cost_points = reader.unsigned_integer("cost_points");
  if (reader.has("stock") && !params.at("stock").is_null()) terms.stock = reader.unsigned_integer("stock");
  terms.limit_per_customer = static_cast<std::uint32_t>(reader.optional_unsigned_integer("limit_per_customer", UINT32_MAX).value_or(0));
  terms.limit_per_period = static_cast<std::uint32_t>(reader.optional_unsigned_integer("limit_per_period", UINT32_MAX).value_or(0));
  terms.period_days = static_cast<std::uint16_t>(reader.optional_unsigned_integer("period_days", UINT16_MAX).value_or(0));
  terms.valid_from_ms = reader.optional_unsigned_integer("valid_from_ms").value_or(0);
  terms.valid_until_ms = reader.optional_unsigned_integer("valid_until_ms").value_or(0);
  terms.min_tier = static_cast<std::uint8_t>(reader.optional_unsigned_integer("min_tier", UINT8_MAX).value_or(0));
  if (reader.has("active")) terms.active = reader.boolean("active");
  if (reader.error()) return *reader.error();
  auto tx_id = node_.publish_reward(reward_id, terms);
  if (!tx_id) return application_error(tx_id.error());
  return id_json(*tx_id);
}

MethodResult Dispatcher::grant_tier(const json& params) {
  Params reader(params, {"customer", "tier", "until_ms"});
  const crypto::PublicKey customer = reader.address("customer", crypto::KeyCheck::checksum_only);  // as in earn
  const auto tier = static_cast<std::uint8_t>(reader.unsigned_integer("tier", UINT8_MAX));
  const std::uint64_t until_ms = reader.unsigned_integer("until_ms");
  if (reader.error()) return *reader.error();
  auto tx_id = node_.grant_tier(customer, tier, until_ms);
  if (!tx_id) return application_error(tx_id.error());
  return id_json(*tx_id);
}

MethodResult Dispatcher::check_voucher(const json& params) {
  Params reader(params, {"code"});
  const std::string code = read_voucher_code(reader);
  if (reader.error()) return *reader.error();
  auto check = node_.check_voucher(code);
  if (!check) return application_error(check.error());
  json out{{"code", ledger::format_voucher_code(code)}, {"status", std::string(node::voucher_status_name(check->status))}};
  if (check->voucher) out["voucher"] = voucher_json(*check->voucher);
  if (check->status == node::VoucherCheck::Status::foreign) out["owner"] = check->owner;
  return out;
}

MethodResult Dispatcher::use_voucher(const json& params) {
  Params reader(params, {"code"});
  const std::string code = read_voucher_code(reader);
  if (reader.error()) return *reader.error();
  auto tx_id = node_.use_voucher(code);
  if (!tx_id) return application_error(tx_id.error());
  return id_json(*tx_id);
}

// ---- stamp cards, badges and the leaderboard ----

MethodResult Dispatcher::get_stamp_cards(const json& params) {
  Params reader(params, {"address", "include_empty"});
  const crypto::PublicKey customer = reader.address("address", crypto::KeyCheck::checksum_only);
  const bool include_empty = reader.has("include_empty") && reader.boolean("include_empty");
  if (reader.error()) return *reader.error();
  auto cards = node_.stamp_cards(customer, include_empty);
  if (!cards) return application_error(cards.error());
  json out = json::array();
  for (const node::StampCardView& view : *cards) {
    const ledger::StampProgress& progress = view.progress;
    out.push_back({{"partner", view.partner},
                   {"card_id", view.card_id},
                   {"terms", stamp_card_terms_json(view.card.terms)},
                   {"reward_name", view.reward_name},
                   {"card_number", view.current ? progress.card_number : progress.card_number + 1},
                   {"stamps", view.current ? progress.stamps : 0},
                   {"stamps_needed", view.card.terms.stamps_needed},
                   {"started_at_ms", view.current && progress.stamps != 0 ? json(progress.started_at_ms) : json(nullptr)},
                   {"lapses_at_ms", view.current && view.lapses_at_ms != 0 ? json(view.lapses_at_ms) : json(nullptr)},
                   {"filled", progress.filled}});
  }
  return json{{"address", crypto::encode_address(customer)}, {"cards", std::move(out)}};
}

MethodResult Dispatcher::get_badges(const json& params) {
  Params reader(params, {"address", "include_progress"});
  const crypto::PublicKey customer = reader.address("address", crypto::KeyCheck::checksum_only);
  const bool include_progress = reader.has("include_progress") && reader.boolean("include_progress");
  if (reader.error()) return *reader.error();
  auto badges = node_.badges(customer, include_progress);
  if (!badges) return application_error(badges.error());
  json out = json::array();
  for (const node::BadgeView& view : *badges) {
    const ledger::BadgeProgress& progress = view.progress;
    out.push_back({{"partner", view.partner},
                   {"badge_id", view.badge_id},
                   {"terms", badge_terms_json(view.badge.terms)},
                   {"earned", progress.earned()},
                   {"earned_at_ms", progress.earned() ? json(progress.earned_at_ms) : json(nullptr)},
                   {"earned_height", progress.earned() ? json(progress.earned_height) : json(nullptr)},
                   {"progress", progress.progress}});
  }
  return json{{"address", crypto::encode_address(customer)}, {"badges", std::move(out)}};
}

MethodResult Dispatcher::get_leaderboard(const json& params) {
  Params reader(params, {"from", "to", "partner", "limit"});
  const std::string from = reader.text("from");
  const std::string to = reader.text("to");
  node::LeaderboardQuery query;
  if (auto partner = reader.optional_unsigned_integer("partner", UINT16_MAX)) query.partner = static_cast<ledger::PartnerId>(*partner);
  query.limit = reader.optional_unsigned_integer("limit", node::leaderboard_entries_max).value_or(query.limit);
  if (reader.error()) return *reader.error();
  const std::optional<node::Day> from_day = node::parse_iso_date(from);
  const std::optional<node::Day> to_day = node::parse_iso_date(to);
  if (!from_day) return invalid_params("from", "expected a date YYYY-MM-DD");
  if (!to_day) return invalid_params("to", "expected a date YYYY-MM-DD");
  query.from = *from_day;
  query.to = *to_day;
  auto board = node_.leaderboard(query);
  if (!board) return application_error(board.error());
  json entries = json::array();
  std::uint64_t rank = 0;
  for (const node::LeaderboardEntry& entry : board->entries) {
    entries.push_back({{"rank", ++rank}, {"address", crypto::encode_address(entry.member)}, {"points", entry.points}});
  }
  return json{{"from", node::iso_date(query.from)},
              {"to", node::iso_date(query.to)},
              {"partner", query.partner ? json(*query.partner) : json(nullptr)},
              {"indexed_height", board->indexed_height},
              {"members", board->members},
              {"entries", std::move(entries)}};
}

MethodResult Dispatcher::define_stamp_card(const json& params) {
  Params reader(params, {"card_id", "name", "stamps_needed", "min_amount_minor", "currency", "rule", "reward_id",
                         "card_days", "valid_from_ms", "valid_until_ms", "active"});
  const auto card_id = static_cast<std::uint32_t>(reader.unsigned_integer("card_id", UINT32_MAX));
  ledger::StampCardTerms terms;
  terms.name = reader.text("name");
  terms.stamps_needed = static_cast<std::uint16_t>(reader.unsigned_integer("stamps_needed", UINT16_MAX));
  terms.min_amount_minor = reader.optional_unsigned_integer("min_amount_minor").value_or(0);
  terms.currency = reader.text("currency");
  const std::string rule = reader.has("rule") ? reader.text("rule") : "per_order";
  terms.reward_id = static_cast<std::uint32_t>(reader.unsigned_integer("reward_id", UINT32_MAX));
  terms.card_days = static_cast<std::uint16_t>(reader.optional_unsigned_integer("card_days", UINT16_MAX).value_or(0));
  terms.valid_from_ms = reader.optional_unsigned_integer("valid_from_ms").value_or(0);
  terms.valid_until_ms = reader.optional_unsigned_integer("valid_until_ms").value_or(0);
  if (reader.has("active")) terms.active = reader.boolean("active");
  if (reader.error()) return *reader.error();
  const std::optional<ledger::StampRule> stamp_rule = stamp_rule_from_name(rule);
  if (!stamp_rule) return invalid_params("rule", "expected per_order or per_day");
  terms.rule = *stamp_rule;
  auto tx_id = node_.define_stamp_card(card_id, terms);
  if (!tx_id) return application_error(tx_id.error());
  return id_json(*tx_id);
}

// ---- paying with points ----

MethodResult Dispatcher::set_point_value(const json& params) {
  Params reader(params, {"currency", "minor_units", "points"});
  ledger::PointValue value;
  value.currency = reader.text("currency");
  value.minor_units = reader.unsigned_integer("minor_units");
  value.points = reader.unsigned_integer("points");
  if (reader.error()) return *reader.error();
  auto tx_id = node_.set_point_value(value);
  if (!tx_id) return application_error(tx_id.error());
  return id_json(*tx_id);
}

MethodResult Dispatcher::define_badge(const json& params) {
  Params reader(params, {"badge_id", "name", "rule", "reason", "threshold", "active"});
  const auto badge_id = static_cast<std::uint32_t>(reader.unsigned_integer("badge_id", UINT32_MAX));
  ledger::BadgeTerms terms;
  terms.name = reader.text("name");
  const std::string rule = reader.text("rule");
  const std::string reason = reader.has("reason") ? reader.text("reason") : "";
  terms.threshold = reader.optional_unsigned_integer("threshold").value_or(0);
  if (reader.has("active")) terms.active = reader.boolean("active");
  if (reader.error()) return *reader.error();
  const std::optional<ledger::BadgeRule> badge_rule = badge_rule_from_name(rule);
  if (!badge_rule) return invalid_params("rule", "expected action_count, points_earned or awarded");
  terms.rule = *badge_rule;
  if (!reason.empty()) {
    terms.reason = ledger::reason_from_name(reason);
    if (!terms.reason) return invalid_params("reason", "expected one of purchase, referral, review, social, bonus, cashback");
  }
  auto tx_id = node_.define_badge(badge_id, terms);
  if (!tx_id) return application_error(tx_id.error());
  return id_json(*tx_id);
}

MethodResult Dispatcher::award_badge(const json& params) {
  Params reader(params, {"badge_id", "customer"});
  const auto badge_id = static_cast<std::uint32_t>(reader.unsigned_integer("badge_id", UINT32_MAX));
  const crypto::PublicKey customer = reader.address("customer", crypto::KeyCheck::checksum_only);
  if (reader.error()) return *reader.error();
  auto tx_id = node_.award_badge(badge_id, customer);
  if (!tx_id) return application_error(tx_id.error());
  return id_json(*tx_id);
}

MethodResult Dispatcher::create_payment_request(const json& params) {
  Params reader(params, {"amount_minor", "currency", "order_id", "expires_in_ms"});
  const std::uint64_t amount_minor = reader.unsigned_integer("amount_minor");
  const std::string currency = reader.text("currency");
  const std::string order_id = reader.text("order_id");
  const std::uint64_t expires_in_ms =
      reader.optional_unsigned_integer("expires_in_ms").value_or(node::payment_request_expiry_ms_default);
  if (reader.error()) return *reader.error();
  auto request = node_.create_payment_request(amount_minor, currency, order_id, expires_in_ms);
  if (!request) return application_error(request.error());
  return payment_request_json(*request);
}

MethodResult Dispatcher::get_payment_request(const json& params) {
  Params reader(params, {"id", "request"});
  if (reader.has("id") == reader.has("request")) return invalid_params("params", "give exactly one of id and request");
  ledger::Hash256 id{};
  std::optional<std::uint64_t> expires_at_ms;
  std::optional<ledger::SignedPaymentRequest> request;
  if (reader.has("id")) {
    id = reader.hash("id");
  } else {
    const std::string text = reader.text("request");
    if (!reader.error()) {
      auto parsed = ledger::parse_payment_request(text);
      if (!parsed) {
        reader.fail("request", parsed.error().message());
      } else {
        request = std::move(*parsed);
        id = request->request.id();
        expires_at_ms = request->request.expires_at_ms;
      }
    }
  }
  if (reader.error()) return *reader.error();
  auto check = node_.payment_status(id, expires_at_ms);
  if (!check) return application_error(check.error());
  json out{{"id", hash_hex(id)}, {"status", std::string(node::payment_status_name(check->status))}};
  if (request) out["request"] = payment_request_json(*request);
  if (check->payment) out["payment"] = payment_json(*check->payment);
  return out;
}

// ---- subscriptions ----

pc::Result<node::EventFilter, RpcError> Dispatcher::subscription_filter(const json& params) const {
  Params reader(params, {"blocks", "account", "partner", "payment_request"});
  node::EventFilter filter;
  if (reader.has("blocks")) filter.blocks = reader.boolean("blocks");
  if (reader.has("payment_request")) filter.payment_request = reader.hash("payment_request");
  if (reader.has("account")) filter.account = reader.address("account", crypto::KeyCheck::checksum_only);
  std::optional<std::uint64_t> partner = reader.optional_unsigned_integer("partner", UINT16_MAX);
  if (reader.error()) return *reader.error();
  if (partner) {
    const auto id = static_cast<ledger::PartnerId>(*partner);
    if (node_.genesis().partner(id) == nullptr) {
      return application_error(ledger::Error{ledger::Code::unknown_partner, "partner " + std::to_string(id)});
    }
    filter.partner = id;
  }
  if (!filter.blocks && !filter.account && !filter.partner && !filter.payment_request) {
    return invalid_params("params", "name at least one of blocks (true), account, partner or payment_request");
  }
  return filter;
}

}  // namespace pc::rpc
