#pragma once
// GitHub webhook signatures (X-Hub-Signature-256). Pure.
#include <string>
#include <string_view>

namespace imagewatch::hooks {

// "sha256=<64 lower-case hex>": HMAC-SHA256 of the raw body keyed with the secret, as GitHub sends it.
std::string github_signature(std::string_view body, std::string_view secret);

// True when `header` is exactly github_signature(body, secret) (hex case ignored). The digest
// comparison takes the same time wherever the inputs differ. An empty secret never verifies.
bool verify_github_signature(std::string_view header, std::string_view body, std::string_view secret);

}  // namespace imagewatch::hooks
