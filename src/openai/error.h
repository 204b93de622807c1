// OpenAI error objects: {"error":{"message":...,"type":...,"param":...,"code":...}}.
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace cacheon::openai {

// The OpenAI error object as received (client side) or to be sent (server side).
// Empty `param` / `code` mean JSON null.
struct ApiErrorBody {
  std::string message, type, param, code;
};

// Serializes an error object. Empty param / code become null. Never throws: invalid UTF-8 in any
// argument is replaced with U+FFFD.
std::string error_json(std::string_view type, std::string_view message,
                       std::string_view param = {}, std::string_view code = {});

// The OpenAI error `type` for an HTTP status: 400 "invalid_request_error", 401
// "authentication_error", 403 "permission_error", 404 "not_found_error", 409 "conflict_error",
// 429 "rate_limit_error", 503 "service_unavailable_error", other 5xx "server_error", other 4xx
// "invalid_request_error".
std::string_view error_type_for_status(int http_status);

// Parses an error body: the OpenAI shape {"error":{...}} and vLLM's flat
// {"object":"error","message":...,"type":...,"code":400}. A numeric code becomes its decimal
// text. nullopt when the body is not JSON or carries no error object.
std::optional<ApiErrorBody> parse_error_body(std::string_view body);

}  // namespace cacheon::openai
