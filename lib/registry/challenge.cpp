#include "registry/challenge.hpp"

#include "core/text.hpp"

#include <algorithm>
#include <cctype>

namespace imagewatch::registry {

namespace {

bool is_tchar(char c)
{
    if (std::isalnum(static_cast<unsigned char>(c)))
        return true;
    return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token68_char(char c)
{
    return std::isalnum(static_cast<unsigned char>(c)) || std::string_view("-._~+/").find(c) != std::string_view::npos;
}

// A cursor over the header with the few lexical steps the grammar needs.
class lexer
{
public:
    explicit lexer(std::string_view s) : s_(s) {}

    bool at_end() const { return i_ >= s_.size(); }
    char peek() const { return s_[i_]; }
    std::size_t pos() const { return i_; }
    void seek(std::size_t p) { i_ = p; }
    void advance() { ++i_; }

    void skip_ws() { i_ = std::min(s_.find_first_not_of(" \t", i_), s_.size()); }
    // Skips whitespace and empty list elements (",,"), which RFC 7230 §7 lets a recipient accept.
    void skip_ws_and_commas() { i_ = std::min(s_.find_first_not_of(" \t,", i_), s_.size()); }
    std::string_view token()
    {
        auto start = i_;
        while (!at_end() && is_tchar(peek()))
            ++i_;
        return s_.substr(start, i_ - start);
    }
    // After the opening quote; false on an unterminated string or a control character.
    bool quoted(std::string& out)
    {
        while (!at_end())
        {
            char c = s_[i_++];
            if (c == '"')
                return true;
            if (c == '\\')
            {
                if (at_end())
                    return false;
                c = s_[i_++];
            }
            auto u = static_cast<unsigned char>(c);
            if ((u < 0x20 && c != '\t') || u == 0x7f)
                return false;
            out.push_back(c);
        }
        return false;
    }
    // token68 = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
    std::string_view token68()
    {
        auto start = i_;
        while (!at_end() && is_token68_char(peek()))
            ++i_;
        if (i_ == start)
            return {};
        while (!at_end() && peek() == '=')
            ++i_;
        return s_.substr(start, i_ - start);
    }

private:
    std::string_view s_;
    std::size_t i_ = 0;
};

error garbage(std::string_view header, std::string_view why)
{
    return make_error(errc::bad_response, "malformed WWW-Authenticate header (" + std::string(why) + "): \"" +
                                              utf8_excerpt(header, 200) + "\"");
}

}  // namespace

bool challenge::is(std::string_view scheme_name) const { return iequals_ascii(scheme_name, scheme); }

std::string challenge::param(std::string_view key) const
{
    auto it = params.find(std::string(key));
    return it == params.end() ? std::string() : it->second;
}

result<std::vector<challenge>> parse_challenges(std::string_view header)
{
    std::vector<challenge> out;
    lexer lx(header);
    while (true)
    {
        lx.skip_ws_and_commas();
        if (lx.at_end())
            break;
        challenge c;
        auto scheme = lx.token();
        if (scheme.empty())
            return garbage(header, "expected an auth scheme");
        c.scheme = ascii_lower(scheme);
        if (!lx.at_end() && lx.peek() != ',' && lx.peek() != ' ' && lx.peek() != '\t')
            return garbage(header, "unexpected character after the scheme");
        lx.skip_ws();
        if (lx.at_end() || lx.peek() == ',')
        {
            out.push_back(std::move(c));
            continue;
        }

        // `Scheme token68` is told apart from `Scheme name=value` by what follows it.
        auto start = lx.pos();
        auto t68 = lx.token68();
        lx.skip_ws();
        if (!t68.empty() && (lx.at_end() || lx.peek() == ','))
        {
            c.token68 = std::string(t68);
            out.push_back(std::move(c));
            continue;
        }
        lx.seek(start);

        // auth-param *( OWS "," OWS auth-param ), until a list element that is not `name =`.
        while (true)
        {
            auto name = lx.token();
            if (name.empty())
                return garbage(header, "expected a parameter name");
            lx.skip_ws();
            if (lx.at_end() || lx.peek() != '=')
                return garbage(header, "expected '=' after parameter " + std::string(name));
            lx.advance();
            lx.skip_ws();
            std::string value;
            if (!lx.at_end() && lx.peek() == '"')
            {
                lx.advance();
                if (!lx.quoted(value))
                    return garbage(header, "unterminated quoted string");
            }
            else
            {
                auto v = lx.token();
                if (v.empty())
                    return garbage(header, "missing value for parameter " + std::string(name));
                value = std::string(v);
            }
            // RFC 7235: a parameter name occurs once per challenge; keep the first if repeated.
            c.params.emplace(ascii_lower(name), std::move(value));

            lx.skip_ws();
            if (lx.at_end())
                break;
            if (lx.peek() != ',')
                return garbage(header, "unexpected character after a parameter value");
            lx.skip_ws_and_commas();
            if (lx.at_end())
                break;
            auto next = lx.pos();
            auto ahead = lx.token();
            lx.skip_ws();
            bool is_param = !ahead.empty() && !lx.at_end() && lx.peek() == '=';
            lx.seek(next);
            if (!is_param)
                break;  // the next challenge starts here
        }
        out.push_back(std::move(c));
    }
    if (out.empty())  // nothing but whitespace and commas
        return garbage(header, "empty");
    return out;
}

}  // namespace imagewatch::registry
