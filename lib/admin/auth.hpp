#pragma once
// Admin bearer-token check (docs/http-api.md "Auth"): fail closed, constant-time compare. Pure.
#include <array>
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

// SHA-256 of a token. Secrets are compared as digests: every comparison is over the same 32
// bytes, so neither the token's length nor where a guess differs shows in its timing.
using token_digest_t = std::array<unsigned char, 32>;
token_digest_t token_digest(std::string_view token);

// Constant-time comparison of two digests (CRYPTO_memcmp over all 32 bytes).
bool digests_equal(const token_digest_t& a, const token_digest_t& b);

// digests_equal(token_digest(a), token_digest(b)).
bool constant_time_equal(std::string_view a, std::string_view b);

// authorization: the raw Authorization header ("" when absent); token: nullopt or empty = not configured.
auth_result check_bearer(std::string_view authorization, const std::optional<std::string_view>& token);

}  // namespace imagewatch::admin
