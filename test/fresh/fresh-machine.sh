#!/usr/bin/env bash
# The README's first command on a fresh Debian 12 machine: a minbase bookworm root (debootstrap from
# this machine's own Debian mirror, cached) with a clean copy of the repository's HEAD, where
#   ADMIN_TOKEN=x ./run --version      and      ./run --check-config
# run as root inside a chroot. ./run has to install every package the build needs with apt-get
# itself, build the release preset and answer (`imagewatch <version>`, `ok`). A package missing from
# ./run's list is a failure here, where a developer machine that has it installed hides it.
#   test/fresh/fresh-machine.sh [--run FILE] [--no-ccache] [--keep]
# --run FILE: test FILE as the repository's ./run (e.g. a copy with a package dropped, to see this
#             test fail). --no-ccache: compile without the cached ccache directory (see below).
# --keep:     leave the root for inspection (a tmpfs: umount it afterwards).
# Needs root (debootstrap, chroot, mounts). Exit 77 (skip) when not root, unless
# IMAGEWATCH_FRESH_TEST=1 (then it fails). ctest name fresh.machine, label fresh.
#
# Cached in $IMAGEWATCH_IMAGE_CACHE (default /var/cache/imagewatch-test), so a warm run costs the
# package installs from local .debs plus the build: the rootfs tarball (shared with the image test),
# the apt lists and downloaded .debs (bind-mounted into the chroot), and a ccache directory. ccache
# cannot hide a missing package: a header that is not there fails the preprocessor, a library that
# is not there fails the link, neither is cached. ccache itself is installed in the chroot before
# ./run runs (it brings no headers or libraries the build uses).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CACHE=${IMAGEWATCH_IMAGE_CACHE:-/var/cache/imagewatch-test}
log() { printf '[fresh %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }

RUN_FILE= CCACHE=1 KEEP=0
while (($#)); do
    case $1 in
    --run) RUN_FILE=$(realpath "$2"); shift ;;
    --no-ccache) CCACHE=0 ;;
    --keep) KEEP=1 ;;
    *) echo "usage: $0 [--run FILE] [--no-ccache] [--keep]" >&2; exit 2 ;;
    esac
    shift
done

if [[ $(id -u) != 0 ]]; then
    [[ ${IMAGEWATCH_FRESH_TEST:-0} == 1 ]] && die "needs root (debootstrap, chroot)"
    echo "SKIP: needs root (debootstrap, chroot); IMAGEWATCH_FRESH_TEST=1 makes this a failure"
    exit 77
fi

T0=$(date +%s)
t=$T0
step() { # step NAME: the time since the previous step
    local n
    n=$(date +%s)
    log "$1: $((n - t)) s"
    t=$n
}

mkdir -p "$CACHE"
exec 8>"$CACHE/fresh.lock"
flock -w 3600 8 || die "another fresh-machine test holds $CACHE/fresh.lock"

# umount_under DIR: unmount everything mounted below DIR, deepest first. Returns 1 while any mount
# is left, and then nothing under DIR may be deleted (it would reach into /dev or the caches).
umount_under() {
    local m
    while read -r m; do
        umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
    done < <(awk -v p="$1/" 'index($2, p) == 1 { print $2 }' /proc/mounts | sort -r)
    ! awk -v p="$1/" 'index($2, p) == 1 { f = 1 } END { exit !f }' /proc/mounts
}
# The root is a tmpfs (fast to fill, and gone with one umount instead of a long rm -rf).
remove_root() {
    if umount_under "$1" && { ! mountpoint -q "$1" || umount "$1" || umount -l "$1"; }; then
        rmdir "$1" || log "could not remove $1"
    else
        log "mounts left under $1; not removing it"
    fi
}
# A run that was killed (no trap) leaves its root behind: we hold the lock, so none is in use.
for old in "$CACHE"/fresh-root.*; do
    [[ -d $old ]] && remove_root "$old"
done

TAR=$(bash "$ROOT/test/e2e/image/base-image.sh" --tarball)
step "rootfs tarball (debootstrap --variant=minbase, cached)"

R=$(mktemp -d "$CACHE/fresh-root.XXXXXX")
cleanup() {
    if ((KEEP)); then
        umount_under "$R" || true
        log "kept $R (a tmpfs: umount $R && rmdir $R)"
    else
        remove_root "$R"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mount -t tmpfs -o size=8g,mode=0755 fresh-root "$R"
tar --numeric-owner -xf "$TAR" -C "$R"
chmod 0755 "$R" # the tarball's "." is debootstrap's mktemp directory (0700)
# Undo what makes the tarball a slim container base: a fresh machine keeps its docs, and .debs
# stay in /var/cache/apt/archives (here the bind-mounted cache).
rm -f "$R/etc/dpkg/dpkg.cfg.d/docker" "$R/etc/apt/apt.conf.d/docker-clean"
cp /etc/resolv.conf "$R/etc/resolv.conf"
printf '127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n' >"$R/etc/hosts"

# The repository as a clean clone has it: HEAD's tracked files, nothing built.
mkdir "$R/src"
if git -C "$ROOT" rev-parse --verify -q HEAD >/dev/null; then
    git -C "$ROOT" archive HEAD | tar -x -C "$R/src"
    log "source: $(git -C "$ROOT" rev-parse --short HEAD) (git archive HEAD)"
else
    tar -C "$ROOT" --exclude=./build --exclude=./.git -cf - . | tar -x -C "$R/src"
    log "source: $ROOT (not a git checkout: copied without build/)"
fi
if [[ -n $RUN_FILE ]]; then
    install -m 0755 "$RUN_FILE" "$R/src/run"
    log "./run replaced by $RUN_FILE"
fi

mount -t proc proc "$R/proc"
mount --bind /dev "$R/dev"
mount --bind /dev/pts "$R/dev/pts" # apt and dpkg log through a pseudo-terminal
mkdir -p "$CACHE/fresh-apt/archives/partial" "$CACHE/fresh-apt/lists/partial" "$CACHE/fresh-ccache"
# apt downloads as its sandbox user (the root's _apt) into partial/.
chown "$(chroot "$R" id -u _apt)" "$CACHE/fresh-apt/archives/partial" "$CACHE/fresh-apt/lists/partial"
mount --bind "$CACHE/fresh-apt/archives" "$R/var/cache/apt/archives"
mount --bind "$CACHE/fresh-apt/lists" "$R/var/lib/apt/lists"
mkdir -p "$R/var/cache/ccache"
mount --bind "$CACHE/fresh-ccache" "$R/var/cache/ccache"
step "root unpacked and mounted ($R)"

# in_root CMD...: run CMD as root in the chroot with a login-like environment (nothing of ours).
in_root() {
    local env=(HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 TERM=dumb)
    [[ -z ${CMAKE_BUILD_PARALLEL_LEVEL:-} ]] || env+=(CMAKE_BUILD_PARALLEL_LEVEL="$CMAKE_BUILD_PARALLEL_LEVEL")
    if ((CCACHE)); then
        env+=(CMAKE_CXX_COMPILER_LAUNCHER=ccache CCACHE_DIR=/var/cache/ccache CCACHE_MAXSIZE=2G)
    fi
    chroot "$R" /usr/bin/env -i "${env[@]}" "$@"
}

# The premise: none of what ./run installs is there.
for p in cmake g++ libboost1.81-dev libssl-dev; do
    ! in_root dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed ||
        die "$p is already installed in the fresh root"
done
if ((CCACHE)); then
    in_root sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ccache >/dev/null' ||
        die "installing ccache in the root"
    step "ccache installed in the root"
fi

# The README's first command, as written (with --version so that it returns).
out=$R/run-version.out
if ! in_root bash -c 'cd /src && ADMIN_TOKEN=x ./run --version' >"$out" 2>"$out.err"; then
    tail -40 "$out.err" >&2
    die "'ADMIN_TOKEN=x ./run --version' failed on a fresh machine (output above)"
fi
step "ADMIN_TOKEN=x ./run --version (apt-get install + release build)"
want="imagewatch $(sed -n 's/^project(imagewatch VERSION \([0-9.]*\).*/\1/p' "$R/src/CMakeLists.txt")"
got=$(tail -1 "$out")
[[ $got == "$want" ]] || die "./run --version printed '$got', want '$want'"
log "./run --version: $got"

if ! got=$(in_root bash -c 'cd /src && ./run --check-config' 2>"$out.err"); then
    tail -20 "$out.err" >&2
    die "./run --check-config failed: $got"
fi
[[ $got == ok ]] || die "./run --check-config printed '$got', want 'ok'"
step "./run --check-config (no rebuild)"
log "./run --check-config: $got"

((CCACHE)) && log "ccache: $(in_root ccache -s | grep -E '^ *(Hits|Misses):' | tr -s ' \n' ' ')"
in_root dpkg-query -W -f='${Package}\n' | sort >"$R/packages.txt"
log "installed in the root: $(wc -l <"$R/packages.txt") packages"
log "PASS in $(($(date +%s) - T0)) s"
