#!/bin/sh
# Entrypoint of the imagewatch image.
#   docker run IMAGE                 -> imagewatch (config $IMAGEWATCH_CONFIG, /etc/imagewatch/config.json)
#   docker run IMAGE --once          -> imagewatch --once (arguments starting with "-" go to imagewatch)
#   docker run IMAGE sh              -> any other command runs as given
# Socket access: as the image's user (imagewatch, uid 10001) the Docker socket must be reachable
# through a supplementary group: `docker run --group-add <GID of the socket>`; a hint is printed
# when it is not. Started as root (`--user 0`), this script adopts the socket's group itself and
# drops to uid/gid 10001 with that group and no capabilities before exec'ing imagewatch.
# IMAGEWATCH_RUN_AS_ROOT=1 (with --user 0) keeps root: not recommended.
set -eu

case ${1:-} in
"" | -*) set -- imagewatch "$@" ;;
esac
[ "$1" = imagewatch ] || exec "$@"

# The socket imagewatch will use: $DOCKER_HOST overrides the config's docker.host (default path).
sock=/var/run/docker.sock
case ${DOCKER_HOST:-} in
unix://*) sock=${DOCKER_HOST#unix://} ;;
?*) sock= ;; # tcp:// etc.: nothing to adopt
esac

if [ "$(id -u)" = 0 ] && [ "${IMAGEWATCH_RUN_AS_ROOT:-0}" != 1 ]; then
    groups=$(id -g imagewatch)
    if [ -n "$sock" ] && [ -S "$sock" ]; then
        groups="$groups,$(stat -c %g "$sock")"
    fi
    exec setpriv --reuid=imagewatch --regid=imagewatch --groups="$groups" \
        --inh-caps=-all --bounding-set=-all --no-new-privs -- "$@"
fi

if [ -n "$sock" ] && [ -S "$sock" ] && ! { [ -r "$sock" ] && [ -w "$sock" ]; }; then
    gid=$(stat -c %g "$sock")
    echo "docker-entrypoint: $sock (group $gid) is not accessible to uid $(id -u) (groups $(id -G));" \
        "run the container with --group-add $gid (or --user 0 to adopt it)" >&2
fi
exec "$@"
