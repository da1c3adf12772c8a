// Inbound webhooks, pure parts (docs/http-api.md "Inbound webhooks"): GitHub signatures, payload parsing of recorded
// deliveries (test/data/hooks/), and matching pushed tags to runtimes.
#include "hooks/events.hpp"
#include "hooks/match.hpp"
#include "hooks/signature.hpp"
#include "support/runtimes.hpp"
#include "support/test_data.hpp"

#include <doctest/doctest.h>

using namespace imagewatch;
using namespace imagewatch::hooks;

namespace {

using test::rt;

std::string data(const std::string& name) { return test::test_data("hooks/" + name); }

std::string url_encode(std::string_view s)
{
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    for (char ch : s)
    {
        const auto c = static_cast<unsigned char>(ch);
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
            c == '.')
            out += static_cast<char>(c);
        else if (c == ' ')
            out += '+';
        else
        {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

}  // namespace

TEST_CASE("signature: GitHub's documented test vector")
{
    // docs.github.com "Validating webhook deliveries": this secret and payload give this header.
    const std::string expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
    CHECK(github_signature("Hello, World!", "It's a Secret to Everybody") == expected);
    CHECK(verify_github_signature(expected, "Hello, World!", "It's a Secret to Everybody"));
}

TEST_CASE("signature: anything but the exact HMAC of the exact body is refused")
{
    const std::string body = "Hello, World!";
    const std::string secret = "It's a Secret to Everybody";
    const std::string good = github_signature(body, secret);
    CHECK(verify_github_signature("sha256=757107EA0EB2509FC211221CCE984B8A37570B6D7586C22C46F4379C8B043E17", body,
                                  secret));
    CHECK_FALSE(verify_github_signature("", body, secret));
    CHECK_FALSE(verify_github_signature(good.substr(7), body, secret));          // no "sha256=" prefix
    CHECK_FALSE(verify_github_signature(good + "0", body, secret));              // too long
    CHECK_FALSE(verify_github_signature(good, body + " ", secret));              // body changed
    CHECK_FALSE(verify_github_signature(good, body, secret + "x"));              // other secret
    CHECK_FALSE(verify_github_signature(github_signature(body, ""), body, ""));  // empty secret never verifies
    auto flipped = good;
    flipped.back() = flipped.back() == '7' ? '8' : '7';
    CHECK_FALSE(verify_github_signature(flipped, body, secret));
    // The legacy SHA-1 header format is not accepted in place of SHA-256.
    CHECK_FALSE(verify_github_signature("sha1=25af6174a0fcecc4d346680a72b7ce644b9a88e8", body, secret));
}

TEST_CASE("github: recorded registry_package published delivery -> ghcr.io tag, owner lower-cased")
{
    auto tags =
        parse_github_event("registry_package", "application/json", data("github_registry_package_published.json"));
    REQUIRE(tags.has_value());
    REQUIRE(tags->size() == 1);
    CHECK((*tags)[0] == pushed_tag{"ghcr.io", "molecule-ai/workspace-template-hermes", "latest",
                                   "sha256:4f7ad2ab3c5ba2c2bd7c3b3d1b8e2a0c4b2a5e7e6f8d9c0b1a2f3e4d5c6b7a89"});
}

TEST_CASE("github: recorded package updated delivery with several tags")
{
    auto tags = parse_github_event("package", "application/json", data("github_package_updated.json"));
    REQUIRE(tags.has_value());
    std::vector<pushed_tag> want{
        {"ghcr.io", "molecule-ai/workspace-template-claude-code", "v1.4.0",
         "sha256:0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9"},
        {"ghcr.io", "molecule-ai/workspace-template-claude-code", "latest",
         "sha256:0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9"},
    };
    CHECK(*tags == want);
}

TEST_CASE("github: form-encoded delivery (payload=...) parses like JSON")
{
    const auto json = data("github_registry_package_published.json");
    auto tags =
        parse_github_event("registry_package", "application/x-www-form-urlencoded", "payload=" + url_encode(json));
    REQUIRE(tags.has_value());
    REQUIRE(tags->size() == 1);
    CHECK((*tags)[0].repository == "molecule-ai/workspace-template-hermes");
    CHECK_FALSE(parse_github_event("registry_package", "application/x-www-form-urlencoded", "other=1").has_value());
}

TEST_CASE("github: other events, actions and package types yield nothing; bad JSON is an error")
{
    const auto pub = data("github_registry_package_published.json");
    CHECK(
        parse_github_event("ping", "application/json", R"({"zen":"Keep it logically awesome.","hook_id":1})")->empty());
    CHECK(parse_github_event("push", "application/json", pub)->empty());
    CHECK(parse_github_event("package", "application/json", data("github_package_npm.json"))->empty());
    std::string deleted = pub;
    deleted.replace(deleted.find("\"published\""), 11, "\"deleted\"");
    CHECK(parse_github_event("registry_package", "application/json", deleted)->empty());
    // Missing fields are tolerated: an untagged version, no package_version, no name.
    CHECK(parse_github_event("package", "", R"({"action":"published","package":{"namespace":"o","name":"n",
        "package_type":"CONTAINER","package_version":{"container_metadata":{"tag":{"name":"","digest":"sha256:1"}}}}})")
              ->empty());
    CHECK(
        parse_github_event("package", "", R"({"action":"published","package":{"namespace":"o","name":"n"}})")->empty());
    CHECK(parse_github_event("package", "", R"({"action":"published","package":{"package_version":null}})")->empty());
    CHECK(parse_github_event("package", "", R"({"action":"published"})")->empty());
    // The object under the other event's name is still found; owner.login stands in for namespace.
    auto alt = parse_github_event("package", "", R"({"action":"updated","registry_package":{"owner":{"login":"Org"},
        "name":"App","ecosystem":"container","package_version":{"container_metadata":{"tag":{"name":"edge"}}}}})");
    REQUIRE(alt.has_value());
    REQUIRE(alt->size() == 1);
    CHECK((*alt)[0] == pushed_tag{"ghcr.io", "org/app", "edge"});
    auto bad = parse_github_event("package", "application/json", "{not json");
    REQUIRE_FALSE(bad.has_value());
    CHECK(bad.error().code == errc::invalid_argument);
    CHECK_FALSE(parse_github_event("package", "application/json", "[1,2]").has_value());
}

TEST_CASE("registry: recorded envelope -> only the tagged manifest push")
{
    auto tags = parse_registry_events(data("distribution_push.json"));
    REQUIRE(tags.has_value());
    // The blob push, the pull and the tagless index push are ignored.
    REQUIRE(tags->size() == 1);
    CHECK((*tags)[0] == pushed_tag{"registry.test:5443", "team/app", "stable",
                                   "sha256:fea8895f450959fa676bcc1df0611ea93823a735a01205fd8622846041d0c7cf"});
}

TEST_CASE("registry: host from target.url without request.host; duplicates collapse; bad bodies")
{
    auto tags = parse_registry_events(R"({"events":[
        {"action":"push","target":{"repository":"A/B","tag":"v1","url":"https://Reg.Example:5000/v2/a/b/manifests/v1"}},
        {"action":"push","target":{"repository":"a/b","tag":"v1"},"request":{"host":"reg.example:5000"}},
        {"action":"push","target":{"repository":"a/b","tag":"v1"}},
        {"action":"push","target":{"repository":"","tag":"v1"}},
        {"action":"push"},
        "junk"
    ]})");
    REQUIRE(tags.has_value());
    std::vector<pushed_tag> want{{"reg.example:5000", "a/b", "v1"}, {"", "a/b", "v1"}};
    CHECK(*tags == want);
    CHECK(parse_registry_events(R"({"events":[]})")->empty());
    CHECK_FALSE(parse_registry_events(R"({"event":[]})").has_value());
    CHECK_FALSE(parse_registry_events("").has_value());
    CHECK_FALSE(parse_registry_events("{\"events\":{}}").has_value());
}

TEST_CASE("registry: repeats anywhere in the envelope collapse into the first; order is kept")
{
    const auto push = [](std::string_view repo, std::string_view tag) {
        return R"({"action":"push","target":{"repository":")" + std::string(repo) + R"(","tag":")" + std::string(tag) +
               R"("},"request":{"host":"reg.example"}})";
    };
    auto tags = parse_registry_events(R"({"events":[)" + push("a", "1") + "," + push("b", "1") + "," + push("a", "1") +
                                      "," + push("c", "2") + "," + push("b", "1") + "," + push("a", "2") + "]}");
    REQUIRE(tags.has_value());
    std::vector<pushed_tag> want{
        {"reg.example", "a", "1"}, {"reg.example", "b", "1"}, {"reg.example", "c", "2"}, {"reg.example", "a", "2"}};
    CHECK(*tags == want);
}

TEST_CASE("match: registry host:port, repository and tag must all match; config order, once each")
{
    std::vector<config::runtime> rts{
        rt("web", "registry.test:5443/team/web:latest"),
        rt("app", "registry.test:5443/team/app:stable"),
        rt("app-other-port", "registry.test:5444/team/app:stable"),
        rt("app-other-tag", "registry.test:5443/team/app:latest"),
        rt("app-twin", "registry.test:5443/team/app:stable"),
        rt("pinned", "registry.test:5443/team/app:stable@sha256:" + std::string(64, 'a')),
    };
    const std::string d = "sha256:fea8895f450959fa676bcc1df0611ea93823a735a01205fd8622846041d0c7cf";
    auto tags = parse_registry_events(data("distribution_push.json")).value();
    using reqs = std::vector<check_request>;
    CHECK(match_runtimes(rts, tags) == reqs{{"app", d}, {"app-twin", d}});
    // The same tag twice (pushed again): one check each, for the newest digest.
    tags.push_back(tags.front());
    tags.back().digest = "sha256:newer";
    CHECK(match_runtimes(rts, tags) == reqs{{"app", "sha256:newer"}, {"app-twin", "sha256:newer"}});
    CHECK(match_runtimes(rts, {{"registry.test:5444", "team/app", "stable"}}) == reqs{{"app-other-port"}});
    CHECK(match_runtimes(rts, {{"", "team/app", "latest"}}) == reqs{{"app-other-tag"}});
    CHECK(match_runtimes(rts, {{"registry.test:5443", "team/nope", "stable"}}).empty());
    CHECK(match_runtimes({}, tags).empty());
}

TEST_CASE("match: GitHub deliveries match ghcr.io runtimes by owner/name and tag")
{
    std::vector<config::runtime> rts{
        rt("hermes", "ghcr.io/molecule-ai/workspace-template-hermes:latest"),
        rt("claude-code", "ghcr.io/molecule-ai/workspace-template-claude-code:latest"),
        rt("mirror", "registry.test:5443/molecule-ai/workspace-template-hermes:latest"),
    };
    auto hermes =
        parse_github_event("registry_package", "application/json", data("github_registry_package_published.json"))
            .value();
    REQUIRE(match_runtimes(rts, hermes).size() == 1);
    CHECK(match_runtimes(rts, hermes)[0] ==
          check_request{"hermes", "sha256:4f7ad2ab3c5ba2c2bd7c3b3d1b8e2a0c4b2a5e7e6f8d9c0b1a2f3e4d5c6b7a89"});
    auto cc = parse_github_event("package", "application/json", data("github_package_updated.json")).value();
    REQUIRE(match_runtimes(rts, cc).size() == 1);
    CHECK(match_runtimes(rts, cc)[0].runtime == "claude-code");
}
