#!/bin/sh
# The image's entry point. `pbx-sim serve` listens on 0.0.0.0 here, and a simulator reachable
# from outside must not leave its admin API open: without PBX_SIM_ADMIN_TOKEN (or
# --admin-token, or an explicit --insecure-admin / PBX_SIM_INSECURE_ADMIN=1) a token is generated and printed, so that
# `docker logs` shows it. Any other command runs as given.
set -eu

# `docker run IMAGE --clock instant`: options alone are options of serve
case "${1:-}" in
    -*) set -- pbx-sim serve "$@" ;;
esac

case "$(printf '%s' "${PBX_SIM_INSECURE_ADMIN:-}" | tr 'A-Z' 'a-z')" in
    ""|0|false|no|off|f|n) insecure="" ;;
    *) insecure=yes ;;
esac

if [ "${1:-}" = "pbx-sim" ] && [ "${2:-}" = "serve" ] && [ -z "${PBX_SIM_ADMIN_TOKEN:-}" ]; then
    given="$insecure"
    for arg in "$@"; do
        case "$arg" in
            --admin-token|--admin-token=*|--insecure-admin) given=yes ;;
        esac
    done
    if [ -z "$given" ]; then
        PBX_SIM_ADMIN_TOKEN="$(python3 -c 'import secrets; print(secrets.token_urlsafe(24))')"
        export PBX_SIM_ADMIN_TOKEN
        echo "pbx-sim: no PBX_SIM_ADMIN_TOKEN given, generated one for this container:"
        echo "PBX_SIM_ADMIN_TOKEN=$PBX_SIM_ADMIN_TOKEN"
        echo "(send 'Authorization: Bearer <token>' to /_sim; set PBX_SIM_ADMIN_TOKEN to choose it)"
    fi
fi

exec "$@"
