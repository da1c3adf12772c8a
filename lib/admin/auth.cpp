#include "admin/auth.hpp"

#include "core/text.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

namespace imagewatch::admin {

token_digest_t token_digest(std::string_view token)
{
    token_digest_t d{};
    unsigned int len = 0;
    EVP_Digest(token.data(), token.size(), d.data(), &len, EVP_sha256(), nullptr);
    return d;
}

bool digests_equal(const token_digest_t& a, const token_digest_t& b)
{
    return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool constant_time_equal(std::string_view a, std::string_view b)
{
    auto da = token_digest(a);
    auto db = token_digest(b);
    const bool same = digests_equal(da, db);
    OPENSSL_cleanse(da.data(), da.size());
    OPENSSL_cleanse(db.data(), db.size());
    return same;
}

auth_result check_bearer(std::string_view authorization, const std::optional<std::string_view>& token)
{
    if (!token || token->empty())
        return auth_result::not_configured;
    if (authorization.empty())
        return auth_result::missing;
    constexpr std::string_view scheme = "bearer ";
    if (authorization.size() < scheme.size() || !iequals_ascii(authorization.substr(0, scheme.size()), scheme))
        return auth_result::missing;
    const auto given = trim_end(trim_start(authorization.substr(scheme.size()), " "), " \t");
    return constant_time_equal(given, *token) ? auth_result::ok : auth_result::invalid;
}

}  // namespace imagewatch::admin
