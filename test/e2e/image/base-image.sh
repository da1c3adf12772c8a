#!/usr/bin/env bash
# Make `debian:bookworm-slim` exist in the dockerd at $DOCKER_HOST without any image registry:
# debootstrap a minbase bookworm from this machine's own Debian mirror, trim it the way the
# official slim image is trimmed, and `docker import` it under that name.
#   test/e2e/image/base-image.sh [--rebuild] [--tarball]
# The rootfs tarball is cached in $IMAGEWATCH_IMAGE_CACHE (default /var/cache/imagewatch-test), keyed
# by the mirror, so later runs only import it (a few seconds). The image's apt sources point at the
# same mirror, so `apt-get install` inside `docker build --network host` works. Needs root.
# --tarball only makes sure the cached rootfs tarball exists and prints its path (no Docker needed;
# test/fresh/fresh-machine.sh unpacks it as a fresh machine).
# Env: DOCKER_HOST (required unless --tarball), DOCKER_BIN (default docker), DEBIAN_MIRROR / DEBIAN_SECURITY_MIRROR
# (default: read from /etc/apt/sources.list{,.d/*}).
set -euo pipefail

TAG=debian:bookworm-slim
SUITE=bookworm
CACHE=${IMAGEWATCH_IMAGE_CACHE:-/var/cache/imagewatch-test}
DOCKER=${DOCKER_BIN:-docker}
log() { printf '[base-image %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

REBUILD=0 TARBALL_ONLY=0
for a in "$@"; do
    case $a in
    --rebuild) REBUILD=1 ;;
    --tarball) TARBALL_ONLY=1 ;;
    *) die "usage: base-image.sh [--rebuild] [--tarball]" ;;
    esac
done
((TARBALL_ONLY)) || [[ -n ${DOCKER_HOST:-} ]] || die "DOCKER_HOST is not set (source /tmp/imagewatch-e2e/env)"
[[ $(id -u) == 0 ]] || die "must run as root (debootstrap)"

# mirror_for SUITE: the first URI that this machine's apt sources use for SUITE (deb822 or one-line).
mirror_for() {
    local suite=$1 f
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list; do
        [[ -f $f ]] || continue
        case $f in
        *.sources)
            # deb822 stanzas separated by blank lines: print URIs of a "deb" stanza listing the suite.
            awk -v s="$suite" '
                function flush() { if (deb && has && uri != "") { print uri; found = 1; exit } deb = has = 0; uri = "" }
                /^[[:space:]]*$/ { flush(); next }
                /^[[:space:]]*#/ { next }
                tolower($1) == "types:" { for (i = 2; i <= NF; i++) if ($i == "deb") deb = 1 }
                tolower($1) == "uris:" { uri = $2 }
                tolower($1) == "suites:" { for (i = 2; i <= NF; i++) if ($i == s) has = 1 }
                tolower($1) == "enabled:" && tolower($2) == "no" { deb = 0 }
                END { if (!found) flush() }' "$f"
            ;;
        *)
            # deb [options] URI SUITE COMPONENTS...
            awk -v s="$suite" '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
                                 if ($(i + 1) == s) { print $i; exit } }' "$f"
            ;;
        esac
    done | head -1
}

MIRROR=${DEBIAN_MIRROR:-$(mirror_for $SUITE)}
SECURITY=${DEBIAN_SECURITY_MIRROR:-$(mirror_for $SUITE-security)}
[[ -n $MIRROR ]] || die "no Debian mirror for $SUITE in /etc/apt/sources.list{,.d}; set DEBIAN_MIRROR"
MIRROR=${MIRROR%/}
key=$(printf '%s %s v1' "$MIRROR" "$SECURITY" | sha256sum | cut -c1-12)
TAR=$CACHE/debian-$SUITE-minbase-$key.tar

cleanup_rootfs() { # remove the work dir, but never through a mount debootstrap left behind
    local m
    while read -r m; do umount -l "$m" 2>/dev/null || true; done < <(awk -v p="$1/" 'index($2, p) == 1 { print $2 }' /proc/mounts | sort -r)
    awk -v p="$1/" 'index($2, p) == 1 { f = 1 } END { exit !f }' /proc/mounts || rm -rf "$1"
}

build_rootfs() {
    command -v debootstrap >/dev/null || {
        log "installing debootstrap"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
    }
    mkdir -p "$CACHE"
    local dir t0
    dir=$(mktemp -d "$CACHE/rootfs.XXXXXX")
    # shellcheck disable=SC2064
    trap "cleanup_rootfs '$dir'" EXIT
    t0=$(date +%s)
    log "debootstrap --variant=minbase $SUITE from $MIRROR (takes a few minutes)"
    debootstrap --variant=minbase "$SUITE" "$dir" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 ||
        { tail -20 "$CACHE/debootstrap.log" >&2; die "debootstrap failed (log: $CACHE/debootstrap.log)"; }
    log "debootstrap done in $(($(date +%s) - t0)) s"

    # Apt sources: the same mirror as this machine, in the official image's deb822 form.
    rm -f "$dir/etc/apt/sources.list"
    {
        printf 'Types: deb\nURIs: %s\nSuites: %s %s-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
            "$MIRROR" "$SUITE" "$SUITE"
        [[ -z $SECURITY ]] || printf '\nTypes: deb\nURIs: %s\nSuites: %s-security\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
            "${SECURITY%/}" "$SUITE"
    } >"$dir/etc/apt/sources.list.d/debian.sources"

    # What the official debian:*-slim image configures (debuerreotype's slimify + docker tweaks).
    cat >"$dir/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
    cat >"$dir/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
    echo 'Acquire::Languages "none";' >"$dir/etc/apt/apt.conf.d/docker-no-languages"
    printf 'Acquire::GzipIndexes "true";\nAcquire::CompressionTypes::Order:: "gz";\n' >"$dir/etc/apt/apt.conf.d/docker-gzip-indexes"
    printf 'Apt::AutoRemove::SuggestsImportant "false";\n' >"$dir/etc/apt/apt.conf.d/docker-autoremove-suggests"
    (
        cd "$dir"
        find usr/share/doc -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
        find usr/share/doc -mindepth 1 -type d -empty -delete 2>/dev/null || true
        rm -rf usr/share/man/* usr/share/groff/* usr/share/info/* usr/share/lintian/* usr/share/linda/*
        find usr/share/locale -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} + 2>/dev/null || true
        rm -rf var/lib/apt/lists/* var/cache/apt/*.bin var/cache/apt/archives/*.deb var/cache/apt/archives/partial/* \
            var/log/* tmp/* root/.bash_history debootstrap
        : >etc/hostname
        rm -f etc/resolv.conf etc/hosts # docker provides these
    )
    tar --numeric-owner --xattrs -C "$dir" -cf "$TAR.tmp" .
    mv "$TAR.tmp" "$TAR"
    log "cached $TAR ($(du -h "$TAR" | cut -f1))"
}

((REBUILD)) && rm -f "$TAR"
[[ -s $TAR ]] || build_rootfs
if ((TARBALL_ONLY)); then
    echo "$TAR"
    exit 0
fi

# Import unless the tag already holds this very tarball (label set below).
want=$(stat -c %s-%Y "$TAR")
have=$("$DOCKER" image inspect --format '{{index .Config.Labels "org.imagewatch.test.rootfs"}}' "$TAG" 2>/dev/null || true)
if [[ $have != "$key-$want" ]]; then
    "$DOCKER" import --change 'CMD ["bash"]' --change "LABEL org.imagewatch.test.rootfs=$key-$want" \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        "$TAR" "$TAG" >/dev/null
    log "imported $TAG from $TAR"
fi
"$DOCKER" image inspect --format '{{.Id}} {{.Size}}' "$TAG"
