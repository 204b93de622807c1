#include "openai/error.h"

#include <nlohmann/json.hpp>

namespace cacheon::openai {

using nlohmann::json;

std::string error_json(std::string_view type, std::string_view message, std::string_view param,
                       std::string_view code) {
  json err = json::object();
  err["message"] = message;
  err["type"] = type;
  err["param"] = param.empty() ? json(nullptr) : json(param);
  err["code"] = code.empty() ? json(nullptr) : json(code);
  json body = json::object();
  body["error"] = std::move(err);
  // replace: an error about bad bytes must not itself fail to serialize.
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string_view error_type_for_status(int http_status) {
  switch (http_status) {
    case 400: return "invalid_request_error";
    case 401: return "authentication_error";
    case 403: return "permission_error";
    case 404: return "not_found_error";
    case 409: return "conflict_error";
    case 429: return "rate_limit_error";
    case 503: return "service_unavailable_error";
    default: break;
  }
  return http_status >= 500 ? "server_error" : "invalid_request_error";
}

namespace {

// Strings stay strings, numbers become their text, anything else (null, objects) is empty.
std::string text_of(const json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end()) return {};
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number() || it->is_boolean()) return it->dump();
  return {};
}

}  // namespace

std::optional<ApiErrorBody> parse_error_body(std::string_view body) {
  json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return std::nullopt;
  const json* err = nullptr;
  const auto it = doc.find("error");
  if (it != doc.end() && it->is_object()) {
    err = &*it;
  } else if (it != doc.end() && it->is_string()) {
    return ApiErrorBody{it->get<std::string>(), "", "", ""};  // some servers send {"error":"text"}
  } else if (auto o = doc.find("object"); o != doc.end() && *o == "error") {
    err = &doc;  // vLLM's flat ErrorResponse
  }
  if (!err) return std::nullopt;
  return ApiErrorBody{text_of(*err, "message"), text_of(*err, "type"), text_of(*err, "param"),
                      text_of(*err, "code")};
}

}  // namespace cacheon::openai
