#include "admin/auth.hpp"

#include "core/text.hpp"

#include <openssl/crypto.h>

#include <algorithm>
#include <string>

namespace imagewatch::admin {

bool constant_time_equal(std::string_view a, std::string_view b)
{
    // Compare over the longer length so neither the position of the first difference nor a
    // prefix match shows in timing; a length difference still fails.
    const std::size_t n = std::max(a.size(), b.size());
    if (n == 0)
        return true;
    std::string pa(n, '\0'), pb(n, '\0');
    std::copy(a.begin(), a.end(), pa.begin());
    std::copy(b.begin(), b.end(), pb.begin());
    const bool same_bytes = CRYPTO_memcmp(pa.data(), pb.data(), n) == 0;
    OPENSSL_cleanse(pa.data(), n);
    OPENSSL_cleanse(pb.data(), n);
    return same_bytes && a.size() == b.size();
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
    std::string_view given = authorization.substr(scheme.size());
    while (!given.empty() && given.front() == ' ')
        given.remove_prefix(1);
    while (!given.empty() && (given.back() == ' ' || given.back() == '\t'))
        given.remove_suffix(1);
    return constant_time_equal(given, *token) ? auth_result::ok : auth_result::invalid;
}

}  // namespace imagewatch::admin
