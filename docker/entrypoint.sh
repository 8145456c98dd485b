#!/bin/bash
#
# kanban-entrypoint nginx|migrate|COMMAND...
#
# nginx: renders conf/nginx.conf.in for this container and runs nginx in
# the foreground. migrate: sql/migrate against the catalog's server (a
# job run before a rollout). Anything else runs as given.
#
# nginx's workers never block, so they never resolve a name: Redis and the
# catalog's host are resolved here, once, to addresses (a Kubernetes
# Service's ClusterIP and a compose service's address stay put).

set -euo pipefail

: "${KANBAN_CATALOG_DSN:?libpq conninfo of the catalog}"
: "${KANBAN_REDIS:?host:port of Redis}"
DOMAIN=${KANBAN_DOMAIN:-kanban.example}
PORT=${KANBAN_PORT:-8080}
TTL=${KANBAN_TENANT_TTL:-10s}
SECRETS=${KANBAN_SECRETS:-/run/secrets/kanban}
ROOT=/srv/kanban
VAR=/var/lib/kanban

address() {
    local a
    a=$(getent ahostsv4 "$1" | awk 'NR == 1 { print $1 }')
    [[ -n $a ]] || { echo "kanban-entrypoint: cannot resolve $1" >&2; exit 1; }
    echo "$a"
}

# host=NAME -> host=NAME hostaddr=ADDRESS (libpq then skips its lookup)
catalog_dsn() {
    local dsn=$KANBAN_CATALOG_DSN host
    host=$(sed -n 's/.*host=\([^ ]*\).*/\1/p' <<<"$dsn")
    if [[ -n $host && $host != /* && $dsn != *hostaddr=* ]]; then
        dsn="$dsn hostaddr=$(address "$host")"
    fi
    echo "$dsn"
}

# host:port -> address:port; unix:/path as it is
redis_address() {
    if [[ $KANBAN_REDIS == unix:* ]]; then
        echo "$KANBAN_REDIS"
    else
        echo "$(address "${KANBAN_REDIS%:*}"):${KANBAN_REDIS##*:}"
    fi
}

render() {
    local conf
    conf=$(<"$ROOT/conf/nginx.conf.in")
    conf=${conf//@MODULE@/"/usr/lib/nginx/modules/ngx_http_kanban_module.so"}
    conf=${conf//@VAR@/"$VAR"}
    conf=${conf//@RUN@/"$SECRETS"}
    conf=${conf//@PREFIX@/"$ROOT"}
    conf=${conf//@HTTP_PORT@/"$PORT"}
    conf=${conf//@TENANT_TTL@/"$TTL"}
    conf=${conf//@SPARES@/"${KANBAN_SPARES:-2}"}
    conf=${conf//@LOG_LEVEL@/"${KANBAN_LOG_LEVEL:-warn}"}
    conf=${conf//@API_RATE@/"${KANBAN_API_RATE:-100r/m}"}
    conf=${conf//@SIGNUP_RATE@/"${KANBAN_SIGNUP_RATE:-10r/m}"}
    conf=${conf//@SHARE_RATE@/"${KANBAN_SHARE_RATE:-600r/m}"}
    conf=${conf//@SHARE_BURST@/"${KANBAN_SHARE_BURST:-30}"}
    conf=${conf//@RESET_RATE@/"${KANBAN_RESET_RATE:-5r/m}"}
    # without a mail key among the secrets, mail has no unsubscribe links
    [[ -s $SECRETS/mail.key ]] \
        || conf=$(sed '/^\s*kanban_mail_key\s/d' <<<"$conf")
    conf=${conf//'\.localhost$'/"\\.${DOMAIN//./\\.}\$"}
    printf '%s\n' "$conf" |
        sed -e "s|^\(\s*kanban_catalog\s\).*|\1 \"$(catalog_dsn)\";|" \
            -e "s|^\(\s*kanban_redis\s\).*|\1 $(redis_address);|" \
            -e "s|^\(\s*kanban_tenant_url\s\).*|\1 http://*.$DOMAIN;|" \
            -e "s|^\(\s*server_name\s\+\)localhost;|\1$DOMAIN;|" \
            -e "s|^\(\s*error_log\s\).*|\1 stderr ${KANBAN_LOG_LEVEL:-warn};|" \
            -e "s|^\(\s*access_log\s\).*|\1 /dev/stdout;|" \
            -e "s|^user root;|user www-data;|" \
        >"$VAR/nginx.conf"
}

# KANBAN_SERVERS="pg2=host=db2 port=5432 user=postgres dbname=postgres;...":
# more PostgreSQL servers for workspaces, registered (or their DSN
# brought up to date, with the address their name has now) before the
# migrations make their templates.
register_servers() {
    local entry name dsn host
    [[ -n ${KANBAN_SERVERS:-} ]] || return 0
    migrate_catalog_first
    IFS=';' read -ra entries <<<"$KANBAN_SERVERS"
    for entry in "${entries[@]}"; do
        name=${entry%%=*}
        dsn=${entry#*=}
        host=$(sed -n 's/.*host=\([^ ]*\).*/\1/p' <<<"$dsn")
        [[ $dsn == *hostaddr=* || $host == /* ]] \
            || dsn="$dsn hostaddr=$(address "$host")"
        psql -X -q -v ON_ERROR_STOP=1 -d kanban_catalog \
            -v n="$name" -v d="$dsn" <<'SQL'
INSERT INTO servers (name, dsn) VALUES (:'n', :'d')
ON CONFLICT (name) DO UPDATE SET dsn = excluded.dsn;
SQL
    done
}

# the servers table is the catalog's migration 005
migrate_catalog_first() {
    "$ROOT/sql/migrate" >/dev/null
}

case ${1:-nginx} in
    nginx)
        mkdir -p "$VAR"/{run,tmp,conf.d,tenant.d,log}
        chown -R www-data "$VAR/tmp"
        render
        exec nginx -p "$VAR/" -c "$VAR/nginx.conf" -g 'daemon off;' ;;
    migrate)
        # libpq's own variables, from the conninfo (sql/migrate reads them)
        eval "$(tr ' ' '\n' <<<"$KANBAN_CATALOG_DSN" | sed -n \
            -e 's/^host=\(.*\)/export PGHOST=\1/p' \
            -e 's/^port=\(.*\)/export PGPORT=\1/p' \
            -e 's/^user=\(.*\)/export PGUSER=\1/p' \
            -e 's/^password=\(.*\)/export PGPASSWORD=\1/p')"
        for db in kanban_catalog kanban_tenant_template; do
            [[ $(psql -X -d postgres -tAc "SELECT 1 FROM pg_database
                                           WHERE datname = '$db'") == 1 ]] \
                || psql -X -q -d postgres -c "CREATE DATABASE $db"
        done
        register_servers
        exec "$ROOT/sql/migrate" ;;
    *)
        exec "$@" ;;
esac
