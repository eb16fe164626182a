#include "rpc/errors.hpp"

namespace pc::rpc {

nlohmann::json RpcError::to_json() const {
  nlohmann::json error = {{"code", code}, {"message", message}};
  if (!data.is_null()) error["data"] = data;
  return error;
}

RpcError application_error(const ledger::Error& error) {
  const std::int32_t code = error.code == ledger::Code::not_found
                                ? error_code::not_found
                                : error_code::application_base + static_cast<std::int32_t>(error.code);
  return RpcError{code, error.message(),
                  nlohmann::json{{"name", std::string(ledger::code_name(error.code))}, {"detail", error.detail}}};
}

RpcError invalid_params(std::string_view field, std::string_view problem) {
  std::string message = "invalid params: ";
  message += field;
  message += ": ";
  message += problem;
  return RpcError{error_code::invalid_params, std::move(message), nullptr};
}

std::string error_response_body(const RpcError& error) {
  return serialize(nlohmann::json{{"jsonrpc", "2.0"}, {"id", nullptr}, {"error", error.to_json()}});
}

std::string serialize(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace pc::rpc
