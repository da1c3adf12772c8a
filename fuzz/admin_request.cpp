// Fuzz target: the admin request path (routes, bearer check, webhooks) on a fake backend.
// Input: byte 0 = flags, then newline-separated fields
//   METHOD \n TARGET \n AUTHORIZATION \n TOKEN \n X-HUB-SIGNATURE-256 \n X-GITHUB-EVENT \n CONTENT-TYPE \n BODY
// (missing fields are empty; BODY keeps any further newlines).
//   flags & 3: admin token = 0 "s3cret", 1 the TOKEN field, 2 not configured, 3 empty
//   flags & 4: metrics public; & 8: ready; & 16: the refresh outcome is fatal
//   flags & 32: GitHub hook secret configured; & 64: registry hook token configured
//   flags & 128: replace the signature field by a valid signature of BODY (reaches the payload parser)
// Invariants: refresh only for a POST with a valid bearer token, schedule only through a hook;
// JSON bodies parse; statuses are sane; constant_time_equal agrees with ==; the fixed secrets
// never show in a response or a log line unless the request itself carried them.
#include "admin/auth.hpp"
#include "admin/routes.hpp"
#include "core/log.hpp"
#include "fuzz_support.hpp"
#include "hooks/match.hpp"
#include "hooks/signature.hpp"
#include "image/image_ref.hpp"
#include "support/fake_admin_backend.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>

#include <exception>
#include <initializer_list>

using namespace imagewatch;
using namespace imagewatch::admin;

namespace {

constexpr std::string_view admin_secret = "s3cret";
constexpr std::string_view github_secret = "gh-hook-secret";
constexpr std::string_view registry_secret = "reg-hook-token";

// The runtimes webhook payloads are matched against.
const std::vector<config::runtime>& runtimes()
{
    static const std::vector<config::runtime> rts = [] {
        std::vector<config::runtime> v;
        for (auto [name, image] :
             {std::pair{"claude-code", "ghcr.io/molecule-ai/workspace-template-claude-code:latest"},
              std::pair{"hermes", "localhost:5000/hermes:v1"}, std::pair{"nginx", "nginx"}})
        {
            config::runtime r;
            r.name = name;
            r.image = parse_image_ref(image).value();
            v.push_back(std::move(r));
        }
        return v;
    }();
    return rts;
}

bool leaks(std::string_view text)
{
    for (auto s : {admin_secret, github_secret, registry_secret})
        if (text.find(s) != std::string_view::npos)
            return true;
    return false;
}

bool check_leaks = false;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***)
{
    log::configure(log::level::debug, log::format::text);
    log::set_sink([](std::string_view line) {
        if (check_leaks && leaks(line))
        {
            std::fprintf(stderr, "secret in a log line: %.*s\n", static_cast<int>(line.size()), line.data());
            std::abort();
        }
    });
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size < 1)
        return 0;
    const std::uint8_t flags = data[0];
    const auto input = fuzz::as_view(data + 1, size - 1);
    auto f = fuzz::split(input, '\n', 8);

    test::fake_admin_backend b;
    b.token.reset();
    b.public_metrics = false;
    b.rts = runtimes();
    b.errors.push_back({"hermes", "ws-0123456789ab", "pull: \"quoted\"\n\x01"});
    switch (flags & 3)
    {
    case 0: b.token = std::string(admin_secret); break;
    case 1: b.token = std::string(f[3]); break;
    case 2: break;
    case 3: b.token = ""; break;
    }
    b.public_metrics = flags & 4;
    b.is_ready = flags & 8;
    if (flags & 16)
        b.fatal = "container list: cannot reach the Docker daemon";
    const bool github_hook = flags & 32, registry_hook = flags & 64;
    if (github_hook)
        b.secrets[hook_kind::github] = std::string(github_secret);
    if (registry_hook)
        b.secrets[hook_kind::registry] = std::string(registry_secret);

    // The bearer check alone, against the token field and against itself.
    std::optional<std::string_view> tv;
    if (b.token)
        tv = *b.token;
    const auth_result auth = check_bearer(f[2], tv);
    FUZZ_CHECK(constant_time_equal(f[2], f[3]) == (f[2] == f[3]));
    FUZZ_CHECK(constant_time_equal(f[3], f[3]));
    if (!f[3].empty() && f[3].front() != ' ' && f[3].back() != ' ' && f[3].back() != '\t')
        FUZZ_CHECK(check_bearer("Bearer " + std::string(f[3]), f[3]) == auth_result::ok);

    request req{std::string(f[0]), std::string(f[1]), std::string(f[2])};
    req.body = std::string(f[7]);
    req.hub_signature = flags & 128 ? hooks::github_signature(f[7], github_secret) : std::string(f[4]);
    req.github_event = std::string(f[5]);
    req.content_type = std::string(f[6]);

    // Secrets may legitimately come back when the request carried them (an unknown runtime is
    // echoed), also percent- or JSON-escaped; and mode 1 makes the admin token arbitrary.
    check_leaks = (flags & 3) != 1 && !leaks(input) && input.find('%') == std::string_view::npos &&
                  input.find('\\') == std::string_view::npos && input.find('+') == std::string_view::npos;

    static asio::io_context ioc{1};
    std::optional<response> out;
    std::exception_ptr failure;
    asio::co_spawn(ioc, handle(std::move(req), b), [&](std::exception_ptr e, response r) {
        failure = e;
        if (!e)
            out = std::move(r);
    });
    ioc.restart();
    ioc.run();
    if (failure)
        std::rethrow_exception(failure);
    FUZZ_CHECK(out.has_value());

    FUZZ_CHECK(out->status >= 200 && out->status <= 599);
    if (!b.calls.empty())
    {
        FUZZ_CHECK(b.calls.size() == 1);
        FUZZ_CHECK(f[0] == "POST");
        FUZZ_CHECK(auth == auth_result::ok);
    }
    if (!b.scheduled.empty())
    {
        FUZZ_CHECK(b.scheduled.size() == 1 && b.calls.empty());
        FUZZ_CHECK(f[0] == "POST");
        FUZZ_CHECK(github_hook || registry_hook);
        FUZZ_CHECK(out->status == 202);
        FUZZ_CHECK(!b.scheduled[0].empty());
        for (const auto& name : b.scheduled[0])
            FUZZ_CHECK(name == "claude-code" || name == "hermes" || name == "nginx");
    }
    if (out->content_type == "application/json")
    {
        // Structurally valid JSON. Invalid UTF-8 is tolerated for now: an unknown runtime given
        // percent-encoded as invalid UTF-8 (?runtime=%D2) is echoed raw in the 400 body (reported).
        boost::json::parse_options opt;
        opt.allow_invalid_utf8 = true;
        boost::json::error_code ec;
        (void)boost::json::parse(out->body, ec, {}, opt);
        FUZZ_CHECK(!ec);
    }
    if (check_leaks)
        FUZZ_CHECK(!leaks(out->body));
    check_leaks = false;
    return 0;
}
