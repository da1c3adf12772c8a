#pragma once
// The refresh result (docs/http-api.md, the refresh endpoint) and its JSON form. Pure.
#include <optional>
#include <string>
#include <vector>

namespace imagewatch::refresh {

struct failure
{
    std::string runtime;
    std::string container;  // empty when the failure is not about one container
    std::string error;
};

// One Swarm service a refresh looked at.
struct service_report
{
    std::string runtime;
    std::string service;  // Spec.Name
    std::string result;   // updated | skipped | rolled_back | paused | failed
    std::string image;    // the pinned image written (updated, rolled_back, paused) or found (skipped)
    std::string message;  // Swarm's UpdateStatus message, or why it failed; may be empty
};

struct refresh_result
{
    std::vector<std::string> pulled;     // runtime names, config order
    std::vector<std::string> failed;     // runtime names, config order
    std::vector<std::string> recreated;  // container names replaced successfully
    std::vector<std::string> skipped;    // selected containers already on the pulled image
    std::vector<failure> errors;
    // Rollout decisions, by runtime name; in the JSON only when non-empty.
    std::vector<std::string> halted;       // a canary or batch failed, or the image is marked bad
    std::vector<std::string> deferred;     // an automatic rollout waits (rollout.window, min_age)
    std::vector<std::string> notified;     // mode "notify": checked and notified, never pulled
    std::vector<service_report> services;  // Swarm services, in the order they were handled

    // True when nothing failed: every runtime pulled and no container error.
    bool ok() const { return failed.empty() && errors.empty(); }
};

// A refresh either completes (maybe with per-runtime failures) or stops early because the
// containers could not be listed; then `fatal` holds "container list: ..." (HTTP 500).
struct outcome
{
    refresh_result result;
    std::optional<std::string> fatal;
};

// {"pulled":[..],"failed":[..],"recreated":[..],"skipped":[..],"errors":[..]}: stable key order,
// arrays never null; errors carry "container" only when set. "services":[{"runtime","service",
// "result","image","message"}] follows only when a refresh looked at a Swarm service, so the
// answer of a container-only setup keeps its shape.
std::string to_json(const refresh_result& r);

// The body the admin endpoint and --once print: the result, or for a fatal outcome
// {"error":"container list: ...","partial_result":{...}}.
std::string to_json(const outcome& o);

// Appends `part` to `into` (pulled, failed, ... in order; the first fatal message wins).
void merge(outcome& into, const outcome& part);

}  // namespace imagewatch::refresh
