#!/bin/sh
# HEALTHCHECK of the imagewatch image: GET /healthz on the admin listener (docs/http-api.md).
# The address is admin.listen from $IMAGEWATCH_CONFIG (a "HOST:PORT" or "unix:/path" string; the
# only "listen" key of the schema), else 127.0.0.1:8080. IMAGEWATCH_HEALTHCHECK_LISTEN overrides it.
set -eu
listen=${IMAGEWATCH_HEALTHCHECK_LISTEN:-}
if [ -z "$listen" ]; then
    listen=$(sed -n -e '/^[[:space:]]*\/\//d' \
        -e 's/.*"listen"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' \
        "${IMAGEWATCH_CONFIG:-/etc/imagewatch/config.json}" 2>/dev/null | head -n 1)
    listen=${listen:-127.0.0.1:8080}
fi
case $listen in
unix:*)
    exec curl -fsS --max-time 4 -o /dev/null --unix-socket "${listen#unix:}" http://localhost/healthz
    ;;
*)
    host=${listen%:*}
    port=${listen##*:}
    case $host in
    "" | 0.0.0.0 | "*") host=127.0.0.1 ;;
    "[::]" | "::") host="[::1]" ;;
    esac
    exec curl -fsS --max-time 4 -o /dev/null "http://$host:$port/healthz"
    ;;
esac
