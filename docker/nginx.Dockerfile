# The nginx node of a scaled-out deployment: Debian's own nginx with the
# kanban module, the web UI and the migrations. Stateless: PostgreSQL and
# Redis are services of their own (compose.scale.yaml, k8s/).
#
# html/dist and the password list are made beforehand (make ui passwords), so that the image needs no
# Node: Debian 12's is 18.20 and the toolchain's lock is the host's.
#
#   make ui
#   buildah --storage-driver vfs bud --isolation chroot --format docker \
#       --ignorefile docker/nginx.Dockerfile.dockerignore \
#       -f docker/nginx.Dockerfile -t kanban-nginx .
#
# Configuration, from the environment (docker/entrypoint.sh renders
# conf/nginx.conf.in with it):
#   KANBAN_CATALOG_DSN  libpq conninfo of the catalog (required)
#   KANBAN_REDIS        host:port (or unix:/path) of Redis (required)
#   KANBAN_DOMAIN       workspaces are <slug>.$KANBAN_DOMAIN (kanban.example)
#   KANBAN_PORT         the port nginx listens on (8080)
#   KANBAN_TENANT_TTL   the tenant cache's ttl (10s)
#   KANBAN_SPARES       spare databases nginx keeps a server (2)
#   KANBAN_SECRETS      where jwt.pem and webhooks.key are mounted
#                       (/run/secrets/kanban)

FROM debian:12 AS build

ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential nginx-dev \
        libpq-dev libhiredis-dev libyajl-dev libpcre2-dev libssl-dev \
        libcurl4-openssl-dev libargon2-dev libqrencode-dev zlib1g-dev \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY config ./
COPY ngx_kanban_module ngx_kanban_module
COPY modules modules

# the same flags as Debian's /usr/sbin/nginx (--with-compat among them)
RUN cp -a /usr/share/nginx/src /build \
 && cd /build \
 && bash -c '. ./conf_flags && ./configure "${NGX_CONF_FLAGS[@]}" \
        --add-dynamic-module=/src' \
 && make -f objs/Makefile -j2 modules \
 && cp objs/ngx_http_kanban_module.so /ngx_http_kanban_module.so


FROM debian:12

ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends nginx libpq5 libhiredis0.14 \
        libyajl2 libargon2-1 libqrencode4 libcurl4 john-data \
        libnginx-mod-http-geoip geoip-database \
        postgresql-client-15 ca-certificates curl \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /srv/kanban
COPY --from=build /ngx_http_kanban_module.so \
     /usr/lib/nginx/modules/ngx_http_kanban_module.so
COPY conf conf
COPY sql sql
COPY html/openapi.yaml html/openapi.yaml
COPY html/dist html/dist
COPY docker/entrypoint.sh /usr/local/bin/kanban-entrypoint

EXPOSE 8080
STOPSIGNAL SIGQUIT
HEALTHCHECK CMD curl -fsS "http://127.0.0.1:${KANBAN_PORT:-8080}/health" || exit 1

ENTRYPOINT ["kanban-entrypoint"]
CMD ["nginx"]
