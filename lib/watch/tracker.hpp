#pragma once
// The digest bookkeeping of docs/watching.md ("Decisions"), per runtime. Pure: no clock, no I/O.
//
//   observe(remote) -> what to do (seed, unchanged, refresh)
//   settle(ok)      -> after a refresh: keep the new digest, or roll back so the next check retries
//
// A fetch error never reaches the tracker: the state stays as it was, so an error can neither
// trigger a refresh nor lose a pending one.
#include <map>
#include <optional>
#include <string>

namespace imagewatch::watch {

enum class decision
{
    seed,       // first observation, nothing to do: the digest is recorded
    unchanged,  // same digest as recorded
    refresh,    // refresh the runtime with recreate on, then settle()
};

// What a check learned. `effective` is what decides "changed": the platform child's digest when
// the tag is an index (so a change to another platform only is no update), else the digest.
struct observation
{
    std::string digest;     // Docker-Content-Digest of the tag
    std::string effective;  // platform manifest digest, or digest
    // First observation only: whether the local containers run something other than this digest
    // (nullopt when unknown or there are no containers). Ignored later.
    std::optional<bool> local_stale;
};

class tracker
{
public:
    explicit tracker(bool apply_on_start) : apply_on_start_(apply_on_start) {}

    void set_apply_on_start(bool v) { apply_on_start_ = v; }

    decision observe(const std::string& runtime, const observation& o);

    // After the refresh that observe() asked for: ok keeps the new digest; a failure (pull failed,
    // a swap failed or rolled back, Docker unreachable) restores the previous state so the next
    // check decides again and retries.
    void settle(const std::string& runtime, bool ok);

    // The digest last recorded for a runtime, if any.
    std::optional<std::string> recorded(const std::string& runtime) const;
    bool seen(const std::string& runtime) const;  // recorded(runtime).has_value(), without a copy

    // A runtime removed from the config (or changed) starts over.
    void forget(const std::string& runtime);

private:
    struct entry
    {
        std::optional<observation> recorded;  // nullopt = never observed (first observation pending)
        std::optional<std::optional<observation>> before_refresh;  // set while a refresh is pending
    };
    bool apply_on_start_;
    std::map<std::string, entry, std::less<>> state_;
};

}  // namespace imagewatch::watch
