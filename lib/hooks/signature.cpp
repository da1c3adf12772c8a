#include "hooks/signature.hpp"

#include "core/text.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace imagewatch::hooks {

std::string github_signature(std::string_view body, std::string_view secret)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
         reinterpret_cast<const unsigned char*>(body.data()), body.size(), md, &len);
    return "sha256=" + hex_lower(md, len);
}

bool verify_github_signature(std::string_view header, std::string_view body, std::string_view secret)
{
    if (secret.empty())
        return false;
    const std::string expected = github_signature(body, secret);
    // The length is public (always 71); only the content must not leak through timing.
    if (header.size() != expected.size())
        return false;
    std::string given(header);
    for (auto& c : given)
        if (c >= 'A' && c <= 'F')
            c = static_cast<char>(c - 'A' + 'a');
    return CRYPTO_memcmp(given.data(), expected.data(), expected.size()) == 0;
}

}  // namespace imagewatch::hooks
