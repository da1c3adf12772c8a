#pragma once
// WWW-Authenticate challenges (RFC 7235 §4.1). Pure.
//
//   Bearer realm="https://auth.example/token",service="reg",scope="repository:a/b:pull,push"
//   Basic realm="x", Bearer realm="y"            (several challenges in one header)
#include "core/error.hpp"

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace imagewatch::registry {

struct challenge
{
    std::string scheme;                         // lower-cased: "bearer", "basic", ...
    std::map<std::string, std::string> params;  // keys lower-cased, values unquoted and unescaped
    std::string token68;                        // the rare `Scheme abc==` form; empty otherwise

    // Case-insensitive scheme test: c.is("Bearer").
    bool is(std::string_view scheme_name) const;
    // The parameter's value, or "" when absent. key must be lower-case.
    std::string param(std::string_view key) const;
};

// Parses one WWW-Authenticate header value into its challenges, in order. Fails with
// errc::bad_response (quoting the header) on an empty value, an unterminated quoted string, a
// parameter without a name or value, or any character outside the grammar.
result<std::vector<challenge>> parse_challenges(std::string_view header);

}  // namespace imagewatch::registry
