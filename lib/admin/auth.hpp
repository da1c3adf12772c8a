#pragma once
// Admin bearer-token check (SPEC §5): fail closed, constant-time compare. Pure.
#include <optional>
#include <string_view>

namespace imagewatch::admin {

enum class auth_result
{
    ok,
    not_configured,  // 503 {"error":"admin token not configured"}
    missing,         // 401 {"error":"admin auth required"}
    invalid,         // 401 {"error":"invalid admin auth token"}
};

// Compares in time that depends only on the lengths, never on where the inputs differ.
bool constant_time_equal(std::string_view a, std::string_view b);

// authorization: the raw Authorization header ("" when absent); token: nullopt or empty = not configured.
auth_result check_bearer(std::string_view authorization, const std::optional<std::string_view>& token);

}  // namespace imagewatch::admin
