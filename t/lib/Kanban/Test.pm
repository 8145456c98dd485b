package Kanban::Test;

# The test harness, in the manner of nginx-tests' Test::Nginx: a test file
# starts its own nginx, rendered from conf/nginx.conf.in plus snippets of its
# own, in a temporary directory, talks HTTP to it over plain sockets, and
# looks into PostgreSQL with DBI.  At the end (or when the file dies) every
# nginx is stopped and its error log must be free of [alert], [crit],
# [emerg] and sanitizer reports.
#
#     my $t = Kanban::Test->new(tenant => 'location = /x { return 204; }')
#         ->run;
#     my $slug = $t->signup;
#     my $r = $t->req(GET => '/api/v1/workspace', host => $slug);
#     is($r->{status}, 200);
#     is($r->{json}{slug}, $slug);
#     $t->done_testing;
#
# The shared PostgreSQL and Redis come from t/run through KANBAN_TEST_RUN
# (the directory of their sockets) and KANBAN_TEST_PG_PORT; without them
# (prove on a single file) the file starts a private stack of its own.

use strict;
use warnings;

use Carp qw(croak);
use Cwd qw(abs_path);
use DBI;
use Errno qw(EAGAIN EINTR EWOULDBLOCK);
use Exporter qw(import);
use File::Basename qw(basename dirname);
use File::Path qw(make_path remove_tree);
use File::Temp qw(tempdir);
use IO::Select;
use IO::Socket::INET;
use IO::Socket::UNIX;
use JSON::XS;
use Test::More ();
use Time::HiRes qw(sleep time);

use Kanban::OpenAPI;

our @EXPORT_OK = qw(problem_is error_for made);

our $ROOT = abs_path(dirname(__FILE__) . '/../../..');
our $NGINX = $ENV{KANBAN_TEST_NGINX} // '/usr/sbin/nginx';
our $MODULE = $ENV{KANBAN_MODULE} // "$ROOT/build/ngx_http_kanban_module.so";
our $TMP = $ENV{KANBAN_TEST_TMP} // "$ROOT/t/tmp";

our $JSON = JSON::XS->new->utf8->canonical;
our $APP_NAME = 'kanban-test';      # application_name of our DBI handles
our $QUIET;                         # no TAP: a script, not a test

my @instances;      # every nginx of this file, stopped at its end
my $finished;       # done_testing has run
my $slug_serial = 0;


###########################################################################
# nginx

sub new {
    my ($class, %o) = @_;

    my $self = bless {
        stack     => $o{stack} // Kanban::Test::Stack->shared,
        http      => $o{http},          # snippet at http level (conf.d)
        tenant    => $o{tenant},        # snippet in the tenant server
        replace   => $o{replace} // {}, # directive => new value
        ttl       => $o{ttl} // '1s',
        log_level => $o{log_level} // 'info',
        api_rate  => $o{api_rate} // '1000000r/m',
        api_burst => $o{api_burst},     # default: the N of api_rate
        share_rate => $o{share_rate},
        share_burst => $o{share_burst},
        reset_rate => $o{reset_rate},   # password resets asked per client
        spares    => $o{spares},
        short_host => $o{short_host},   # a name: the short host of links
        port      => free_port(),
    }, $class;

    make_path($TMP);
    $self->{var} = tempdir('nginx-XXXXXX', DIR => $TMP);
    make_path(map { "$self->{var}/$_" } qw(run log tmp conf.d tenant.d));

    $self->write_config;
    push @instances, $self;

    return $self;
}


# A front nginx over nodes, as a deployment's load balancer: nginx's own
# upstream (round robin, no kanban module), every request to either node.
# A request not yet sent to a node that fails (connection refused) goes to
# the other, and the failed node is passed over for fail_timeout; a
# request a node had taken when it died is lost (502), writes too (no
# retry of what may have been done). No keepalive to the nodes: a
# kept connection to a dead node would lose a request sent after its
# death. Buffering off for the event stream. Stopped like a node.
sub front {
    my ($class, @nodes) = @_;

    my $self = bless { stack => $nodes[0]{stack}, port => free_port(),
                       front => 1 }, $class;

    make_path($TMP);
    $self->{var} = tempdir('front-XXXXXX', DIR => $TMP);
    make_path(map { "$self->{var}/$_" } qw(run log tmp));

    my $var = $self->{var};
    my $servers = join '', map {
        "        server 127.0.0.1:$_->{port} max_fails=1 fail_timeout=30s;\n"
    } @nodes;

    write_file("$var/nginx.conf", <<"CONF");
worker_processes 1;
pid $var/run/nginx.pid;
events { worker_connections 4096; }
http {
    access_log $var/log/access.log;
    client_body_temp_path $var/tmp/body;
    proxy_temp_path $var/tmp/proxy;
    fastcgi_temp_path $var/tmp/fastcgi;
    uwsgi_temp_path $var/tmp/uwsgi;
    scgi_temp_path $var/tmp/scgi;
    client_max_body_size 100m;

    upstream nodes {
$servers    }

    server {
        listen 127.0.0.1:$self->{port};
        location / {
            proxy_pass http://nodes;
            proxy_set_header Host \$http_host;
            proxy_http_version 1.1;
            proxy_buffering off;
            proxy_read_timeout 1h;
            proxy_connect_timeout 2s;
            proxy_next_upstream error timeout;
        }
    }
}
CONF

    push @instances, $self;

    return $self->run;
}


sub var  { $_[0]{var} }
sub port { $_[0]{port} }
sub stack { $_[0]{stack} }


sub write_config {
    my ($self) = @_;

    my %value = (
        MODULE     => $MODULE,
        VAR        => $self->{var},
        RUN        => $self->{stack}->run,
        PREFIX     => $ROOT,
        HTTP_PORT  => $self->{port},
        PG_PORT    => $self->{stack}->pg_port,
        TENANT_TTL => $self->{ttl},
        # spare databases nginx keeps a server: none unless a test asks
        SPARES     => $self->{spares} // 0,
        LOG_LEVEL  => $self->{log_level},
        # the shipped limits would throttle a test's burst from 127.0.0.1;
        # t/limit.t tests the limiter with zones of its own
        API_RATE   => $self->{api_rate},
        API_BURST  => $self->{api_burst} // ($self->{api_rate} =~ /^(\d+)/)[0],
        SIGNUP_RATE => $self->{api_rate},
        # share links: the shipped burst with a rate of the test's own,
        # else no limit a test would notice
        SHARE_RATE => $self->{share_rate} // $self->{api_rate},
        SHARE_BURST => $self->{share_burst}
                       // ($self->{share_rate} ? 30 : 1000000),
        RESET_RATE => $self->{reset_rate} // $self->{api_rate},
    );
    my $expand = sub {
        my ($text) = @_;
        $text =~ s/\@([A-Z_]+)\@/$value{$1} \/\/ "\@$1\@"/ge;
        return $text;
    };

    my $conf = $expand->(read_file("$ROOT/conf/nginx.conf.in"));

    while (my ($directive, $new) = each %{ $self->{replace} }) {
        $conf =~ s/^(\s*\Q$directive\E)\s[^;]*;/$1 $new;/m
            or croak "no $directive in conf/nginx.conf.in";
    }

    write_file("$self->{var}/nginx.conf", $conf);
    write_file("$self->{var}/conf.d/short_host.conf",
               $self->short_host_config) if $self->{short_host};
    write_file("$self->{var}/conf.d/test.conf", $expand->($self->{http}))
        if defined $self->{http};
    write_file("$self->{var}/tenant.d/test.conf", $expand->($self->{tenant}))
        if defined $self->{tenant};
}


# The short host of share links (kanban_share_short_host), as
# conf/nginx.conf.in describes it: short_host => 'kbn.localhost' serves every
# workspace's codes at http://kbn.localhost:PORT/{code} and /s/{code}.
sub short_host_config {
    my ($self) = @_;
    my $host = $self->{short_host};
    return <<"CONF";
kanban_share_short_host http://$host:$self->{port};
server {
    listen $self->{port};
    server_name $host;
    location / {
        kanban_limit zone=share_visits;
        client_max_body_size 4k;
        kanban_share;
    }
}
CONF
}


sub _nginx {
    my ($self, @args) = @_;

    my @cmd = ($NGINX, '-p', "$self->{var}/", '-c', "$self->{var}/nginx.conf",
               @args);
    my $out = `@cmd 2>&1`;

    return ($? >> 8, $out);
}


# nginx -t: (exit code, what it printed).  Errors go to stderr only, so
# that a config a test means to be wrong leaves the error log alone.
sub test_config {
    my ($self) = @_;
    croak "$MODULE is missing: run make" unless -f $MODULE;
    return $self->_nginx('-t', '-e', 'stderr');
}


sub run {
    my ($self) = @_;

    croak "$MODULE is missing: run make" unless -f $MODULE;

    my ($rc, $out) = $self->_nginx('-e', "$self->{var}/log/error.log");
    croak "nginx did not start ($rc): $out" . $self->log_tail(20) if $rc;

    my $deadline = time + 10;
    while (time < $deadline) {
        if (-s "$self->{var}/run/nginx.pid"
            && IO::Socket::INET->new(PeerAddr => "127.0.0.1:$self->{port}",
                                     Timeout => 1))
        {
            $self->{running} = 1;
            return $self;
        }
        sleep 0.05;
    }

    croak "nginx did not listen on $self->{port}" . $self->log_tail(20);
}


sub pid {
    my ($self) = @_;
    my $pid = eval { read_file("$self->{var}/run/nginx.pid") } // return;
    chomp $pid;
    return $pid;
}


sub stop {
    my ($self) = @_;

    return $self unless $self->{running};
    $self->{running} = 0;

    my $pid = $self->pid;
    $self->_nginx('-s', 'quit', '-e', "$self->{var}/log/error.log");

    for my $signal (0, 'TERM', 'KILL') {
        kill $signal, $pid if $signal && $pid;
        my $deadline = time + ($signal eq 'KILL' ? 5 : 15);
        while ($pid && kill(0, $pid) && time < $deadline) {
            sleep 0.05;
        }
        last unless $pid && kill 0, $pid;
        Test::More::diag("nginx $pid still runs after "
                         . ($signal ? "SIG$signal" : '-s quit'));
    }

    return $self;
}


# The error log lines that fail a file.
sub log_errors {
    my ($self) = @_;
    my $log = eval { read_file("$self->{var}/log/error.log") } // '';
    return grep { /\[(alert|crit|emerg)\]|AddressSanitizer|LeakSanitizer|runtime error:/ }
           split /\n/, $log;
}


sub log_tail {
    my ($self, $n) = @_;
    my @lines = split /\n/,
        eval { read_file("$self->{var}/log/error.log") } // '';
    splice @lines, 0, @lines - $n if @lines > $n;
    return join '', map { "\n  | $_" } @lines;
}


# Stops every nginx of the file, checks their logs, then Test::More's own.
sub done_testing {
    _finish();
    $finished = 1;
    Test::More::done_testing();
}


sub _finish {
    my $tb = Test::More->builder;
    my $passing = $tb->is_passing;
    my $planned = !$finished && $tb->has_plan;   # only a failure may be added

    $_->stop for @instances;
    Kanban::Test::OpenAPI::finish($planned);

    for my $t (@instances) {
        next unless -e "$t->{var}/log/error.log";
        my @bad = $t->log_errors;
        next if $planned && !@bad;
        Test::More::ok(!@bad, "error log $t->{var}/log/error.log is clean")
            or Test::More::diag(join "\n", @bad[0 .. ($#bad > 19 ? 19 : $#bad)]);
    }

    sanitizer_reports_are_none($planned);

    $passing &&= Test::More->builder->is_passing;

    for my $t (@instances) {
        if (!$passing) {
            Test::More::diag("error log tail of $t->{var}:"
                             . $t->log_tail(30));
        } elsif (!$ENV{KANBAN_TEST_LEAVE}) {
            remove_tree($t->{var});
        }
    }
    @instances = ();

    Kanban::Test::Stack->destroy_private;
}


# make test-asan, make test-valgrind: each process of nginx writes its
# reports to a file of its own in KANBAN_SANITIZER_LOGS (log_path=); any
# file there fails the test file that was running, which moves it aside
# so that the next file starts clean.
sub sanitizer_reports_are_none {
    my ($planned) = @_;
    my $dir = $ENV{KANBAN_SANITIZER_LOGS} // return;
    my @reports = grep { -f && -s } glob("$dir/*");
    return if $planned && !@reports;    # only a failure may be added
    Test::More::ok(!@reports, "no sanitizer reports in $dir")
        or Test::More::diag(map { "$_:\n" . substr(read_file($_), 0, 8000) }
                            @reports[0 .. ($#reports > 2 ? 2 : $#reports)]);
    make_path("$dir/reported");
    rename $_, "$dir/reported/" . basename($_) for @reports;
}


# For a script that is no test (the benchmark): stops everything without a
# word of TAP; returns the error-log lines that would fail a test.
sub stop_all {
    my @bad;
    for my $t (@instances) {
        $t->stop;
        push @bad, $t->log_errors;
        remove_tree($t->{var}) unless $ENV{KANBAN_TEST_LEAVE};
    }
    @instances = ();
    Kanban::Test::Stack->destroy_private;
    $finished = 1;
    return @bad;
}


END {
    # A file that died (or forgot done_testing) still stops its nginx and
    # still fails on a dirty error log.
    local $?;
    if ($QUIET) {
        print STDERR "error log: $_\n" for stop_all();
    }
    _finish() unless $finished;
}


###########################################################################
# HTTP

# Sends one request and waits for the whole response:
#   $t->req(POST => '/api/v1/tenants', json => {...});
#   $t->req(GET => '/api/v1/workspace', host => 'acme',
#           headers => {'X-Request-Id' => 'abc'});
# Options: host (a tenant slug; none or 'localhost' is the platform host),
# host_header (the whole Host value), json, body, chunked (send the body in
# chunks of that many bytes), headers (undef drops a default one), timeout.
# Returns {status, headers (lower-case names), body, json, raw, elapsed}.
sub req {
    my ($self, $method, $path, %o) = @_;

    my $c = $self->send_req($method, $path, %o);
    wait_all([$c], $o{timeout} // 30);

    return $c->response;
}


# Opens a connection and starts sending the request; the response is read
# by wait_all/wait_until/pump.  For many requests in flight at once.
sub send_req {
    my ($self, $method, $path, %o) = @_;
    my $c = Kanban::Test::Conn->new($self->{port},
                                    $self->request_text($method, $path, %o));
    # through a front: its 502 (a node died) is no answer of the API's
    $c->{front} = 1 if $self->{front};
    return $c;
}


sub request_text {
    my ($self, $method, $path, %o) = @_;

    my $host = $o{host_header}
        // ((!defined $o{host} || $o{host} eq 'localhost')
               ? "localhost:$self->{port}"
               : "$o{host}.localhost:$self->{port}");

    my $body = $o{body};
    my @headers = (['Host', $host], ['Connection', 'close']);

    if (exists $o{json}) {
        $body = $JSON->encode($o{json});
        push @headers, ['Content-Type', 'application/json'];
    }

    if (defined $body && $o{chunked}) {
        push @headers, ['Transfer-Encoding', 'chunked'];
        my $chunked = '';
        for (my $i = 0; $i < length $body; $i += $o{chunked}) {
            my $chunk = substr $body, $i, $o{chunked};
            $chunked .= sprintf("%x\r\n%s\r\n", length $chunk, $chunk);
        }
        $body = $chunked . "0\r\n\r\n";
    } elsif (defined $body) {
        push @headers, ['Content-Length', length $body];
    }

    my $extra = $o{headers} // {};
    for my $name (keys %$extra) {
        @headers = grep { lc $_->[0] ne lc $name } @headers;
        push @headers, [$name, $extra->{$name}] if defined $extra->{$name};
    }

    return "$method $path HTTP/1.1\r\n"
        . join('', map { "$_->[0]: $_->[1]\r\n" } @headers)
        . "\r\n" . ($body // '');
}


# Drives the connections until each is answered (or timeout seconds pass).
sub wait_all {
    my ($conns, $timeout) = @_;
    return wait_until($conns, sub { !grep { !$_->done } @$conns }, $timeout);
}


# Drives the connections until $cond returns true or timeout seconds pass;
# returns whether $cond held.  $cond is checked between reads, so a test can
# assert in which order responses arrive.
sub wait_until {
    my ($conns, $cond, $timeout, $every) = @_;

    my $deadline = time + ($timeout // 30);
    my $next = 0;

    while (1) {
        return 1 if $cond->();

        my $left = $deadline - time;
        return 0 if $left <= 0;

        if ($every && time >= $next) {
            $every->();
            $next = time + 0.01;
        }

        my $wait = $every ? 0.01 : 0.05;
        pump($conns, $left < $wait ? $left : $wait);
    }
}


# One round of select over the pending connections.
sub pump {
    my ($conns, $wait) = @_;

    my @open = grep { !$_->done } @$conns;
    unless (@open) {
        sleep $wait;
        return;
    }

    my $r = IO::Select->new(map { $_->{sock} } @open);
    my $w = IO::Select->new(map { $_->{sock} } grep { length $_->{out} } @open);
    my ($readable, $writable) = IO::Select->select($r, $w, undef, $wait);

    my %ready = map { fileno($_) => 1 } @{ $readable // [] },
                                        @{ $writable // [] };
    $_->step for grep { $ready{ fileno $_->{sock} } } @open;
}


# Signs up a workspace with a unique slug; returns the slug.
sub signup {
    my ($self, %o) = @_;

    my $slug = $o{slug} // unique_slug($o{prefix} // 't');
    my $r = $self->req(POST => '/api/v1/tenants', json => {
        slug  => $slug,
        name  => $o{name} // "Workspace $slug",
        admin => {
            email    => "admin\@$slug.example",
            password => 'correct horse battery staple',
            name     => 'Ada Admin',
        },
    });

    croak "sign-up of $slug: $r->{status} $r->{body}" unless $r->{status} == 201;

    return $slug;
}


# A workspace's people, for tests that act as several of them:
#
#     my $ws = $t->workspace(prefix => 'ts');     # signs up, logs the admin in
#     my $pam = $ws->member('Pam', 'project_manager');
#     my $r = $ws->api($pam, POST => '/api/v1/projects', json => {...});
#     $ws->api(undef, GET => ...)                 # anonymous
#     $ws->api($token, GET => ...)                # a bare access/API token
#     my $r = $ws->try_login($email, $pw);        # the response, 401 or not
#     my $conn = $ws->send_api($pam, PATCH => ..., json => {...});
#
# A member is {id, email, name, role, token, refresh}; $ws->{admin} is one
# too.  $ws->login($email, $pw) signs in one who exists (the password is
# the admin's unless given).  $ws->send_api takes what $ws->api takes but,
# like $t->send_req, only sends the request: it returns the connection, for
# Kanban::Test::wait_all or pump, then ->response.
sub workspace {
    my ($self, %o) = @_;
    return Kanban::Test::Workspace->new($self, $self->signup(%o));
}


sub unique_slug {
    my ($prefix) = @_;
    return sprintf('%s-%d-%d-%03d', $prefix, $$, ++$slug_serial,
                   int rand 1000);
}


# /metrics as a list of [name, {label => value}, number].
sub metrics {
    my ($self) = @_;

    my $r = $self->req(GET => '/metrics');
    if ($r->{status} != 200) {
        Test::More::diag("GET /metrics: $r->{status} $r->{body}");
        return;
    }

    my @samples;
    for my $line (split /\n/, $r->{body}) {
        next if $line =~ /^\s*(#|$)/;
        my ($name, $labels, $value) =
            $line =~ /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/
            or next;
        my %label;
        while (($labels // '') =~ /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g) {
            $label{$1} = $2;
        }
        push @samples, [$name, \%label, $value + 0];
    }

    return @samples;
}


# The sum of the samples of a metric whose labels include %labels.
sub metric {
    my ($self, $name, %labels) = @_;

    my ($sum, $seen) = (0, 0);
    SAMPLE: for my $s ($self->metrics) {
        next unless $s->[0] eq $name;
        for (keys %labels) {
            next SAMPLE unless ($s->[1]{$_} // "\0") eq $labels{$_};
        }
        $sum += $s->[2];
        $seen++;
    }

    return $seen ? $sum : undef;
}


###########################################################################
# PostgreSQL

sub catalog {
    my ($self) = @_;
    return $self->{catalog} //= $self->{stack}->dbh('kanban_catalog');
}


sub db_name {
    my ($self, $slug) = @_;
    my ($db) = $self->catalog->selectrow_array(
        'SELECT db_name FROM tenants WHERE slug = ?', undef, $slug);
    croak "no tenant $slug in the catalog" unless defined $db;
    return $db;
}


# A new connection to a tenant's database (a test may hold locks on it),
# on whichever server the catalog says holds it.
sub tenant_dbh {
    my ($self, $slug) = @_;
    my ($db, $dsn) = $self->catalog->selectrow_array(
        'SELECT db_name, db_dsn FROM tenants WHERE slug = ?', undef, $slug);
    croak "no tenant $slug in the catalog" unless defined $db;
    return $self->{stack}->dbh($db, $dsn);
}


###########################################################################
# checks

# problem_is($r, 422, 'validation_failed', 'name of the test')
sub problem_is {
    my ($r, $status, $code, $name) = @_;

    my $tb = Test::More->builder;
    my $json = $r->{json};
    my $got = "got $r->{status} "
        . ($r->{headers}{'content-type'} // '(no type)')
        . ': ' . substr($r->{body}, 0, 500);
    $name //= "$status $code";

    my $ok = $r->{status} == $status
        && ($r->{headers}{'content-type'} // '')
               =~ m{^application/problem\+json\b}
        && ref $json eq 'HASH'
        && ($json->{code} // '') eq $code
        && ($json->{status} // 0) == $status;
    $tb->ok($ok, $name) or $tb->diag($got);
    return $ok unless $ok;

    # The rest of RFC 9457 as API.md has it, on its own line of the report.
    my @missing = grep { !defined $json->{$_} || ref $json->{$_} }
                  qw(type title detail);
    $tb->ok(!@missing, "$name: with type, title and detail")
        or $tb->diag("no @missing in $r->{body}");
    return $ok;
}


# The entry of the problem's "errors" for a field, or undef.
sub error_for {
    my ($r, $field) = @_;
    my $errors = ref $r->{json} eq 'HASH' && $r->{json}{errors};
    return unless ref $errors eq 'ARRAY';
    my ($e) = grep { ref $_ eq 'HASH' && ($_->{field} // '') eq $field }
              @$errors;
    return $e;
}


# made($response, 'what'): the JSON of a response that made or read what a
# test needs (200 or 201); otherwise the file dies there, saying what the
# server answered, since nothing after it could mean anything.
sub made {
    my ($r, $what) = @_;
    croak "$what: $r->{status} $r->{body}"
        unless $r->{status} == 201 || $r->{status} == 200;
    return $r->{json};
}


###########################################################################
# small things

sub free_port {
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                  LocalPort => 0, ReuseAddr => 1)
        or croak "no free port: $!";
    return $s->sockport;
}


sub read_file {
    my ($path) = @_;
    open my $fh, '<:raw', $path or croak "$path: $!";
    local $/;
    return scalar <$fh>;
}


sub write_file {
    my ($path, $text) = @_;
    open my $fh, '>:raw', $path or croak "$path: $!";
    print $fh $text;
    close $fh or croak "$path: $!";
}


###########################################################################

package Kanban::Test::Conn;

# One client connection: a request going out, a response coming in.

use strict;
use warnings;

use Carp qw(croak);
use Errno qw(EAGAIN EINTR EWOULDBLOCK);
use Time::HiRes qw(time);

sub new {
    my ($class, $port, $request) = @_;

    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                     PeerPort => $port, Timeout => 5)
        or croak "connect to $port: $!";
    $sock->blocking(0);

    my $self = bless { sock => $sock, out => $request, in => '',
                       start => time }, $class;
    @$self{qw(method target)} = $request =~ m{^(\S+) (\S+) HTTP/}
        if $request =~ m{^\S+ \S+ HTTP/1\.[01]\r\n};
    ($self->{host}) = $request =~ m{\r\nHost: ([^\r\n]*)\r\n}i;
    $self->step;

    return $self;
}


sub done { $_[0]{done} }


# Writes what the socket takes, reads what it has; EOF ends the response.
sub step {
    my ($self) = @_;

    return if $self->{done};
    local $SIG{PIPE} = 'IGNORE';

    if (length $self->{out}) {
        my $n = syswrite $self->{sock}, $self->{out};
        if (defined $n) {
            substr($self->{out}, 0, $n) = '';
        } elsif ($! != EAGAIN && $! != EWOULDBLOCK && $! != EINTR) {
            # the server stopped reading: what it answered is still there
            $self->{out} = '';
            $self->{write_error} = "$!";
        }
    }

    while (1) {
        my $n = sysread $self->{sock}, my $buf, 65536;
        if (!defined $n) {
            return if $! == EAGAIN || $! == EWOULDBLOCK || $! == EINTR;
            $self->{read_error} = "$!";
            last;
        }
        last if $n == 0;
        $self->{in} .= $buf;
    }

    $self->{done} = 1;
    $self->{elapsed} = time - $self->{start};
    CORE::close($self->{sock});
}


# The client goes away before its answer.
sub close {
    my ($self) = @_;
    CORE::close($self->{sock}) unless $self->{done};
    $self->{done} = 1;
    $self->{closed} = 1;
}


sub response {
    my ($self) = @_;

    return $self->{response} if $self->{response};

    my %r = (status => 0, headers => {}, body => '', raw => $self->{in},
             elapsed => $self->{elapsed});
    $r{error} = $self->{done} ? $self->{read_error} : 'no response in time';

    my ($head, $body) = split /\r\n\r\n/, $self->{in}, 2;
    if (defined $head && $head =~ m{^HTTP/1\.[01] (\d{3})}) {
        $r{status} = $1;
        for (split /\r\n/, $head) {
            next unless /^([^:\s]+):\s*(.*?)\s*$/;
            my $name = lc $1;
            push @{ $r{header_list}{$name} }, $2;
            $r{headers}{$name} = join ', ', @{ $r{header_list}{$name} };
        }
        $body //= '';
        $body = dechunk($body)
            if ($r{headers}{'transfer-encoding'} // '') =~ /chunked/i;
        $r{body} = $body;
        $r{json} = eval { $Kanban::Test::JSON->decode($body) };
    }

    if ($self->{done}) {
        Kanban::Test::OpenAPI::record($self, \%r);
        return $self->{response} = \%r;
    }
    return \%r;
}


sub dechunk {
    my ($in) = @_;
    my $out = '';
    while ($in =~ s/^([0-9a-fA-F]+)[^\r\n]*\r\n//) {
        my $n = hex $1;
        last if $n == 0;
        $out .= substr $in, 0, $n, '';
        $in =~ s/^\r\n//;
    }
    return $out;
}


###########################################################################

package Kanban::Test::Stack;

# PostgreSQL and Redis as conf/kanbanctl starts them: the shared one of
# t/run, or a private one for a file that stops them.

use strict;
use warnings;

use Carp qw(croak);
use File::Path qw(remove_tree);
use File::Temp qw(tempdir);
use IO::Socket::UNIX;
use Time::HiRes qw(sleep time);

our $PG_BIN = $ENV{KANBAN_PG_BIN} // '/usr/lib/postgresql/15/bin';

my $shared;
my @private;

sub shared {
    my ($class) = @_;

    return $shared if $shared;

    if ($ENV{KANBAN_TEST_RUN}) {
        return $shared = bless {
            run     => $ENV{KANBAN_TEST_RUN},
            pg_port => $ENV{KANBAN_TEST_PG_PORT} // croak 'KANBAN_TEST_PG_PORT?',
        }, $class;
    }

    # prove on a single file, without t/run
    return $shared = $class->private;
}


# A stack of this file's own, in /tmp (the postgres user must reach it and
# the socket paths must stay short); gone at the end of the file.
sub private {
    my ($class) = @_;

    my $var = tempdir('/tmp/kanban-stack.XXXXXX');
    chmod 0755, $var;

    my $self = bless { var => $var, run => "$var/run",
                       pg_port => Kanban::Test::free_port() }, $class;
    push @private, $self;

    $self->start;

    return $self;
}


sub run { $_[0]{run} }
sub pg_port { $_[0]{pg_port} }


sub _ctl {
    my ($self, $cmd) = @_;

    croak "the shared stack belongs to t/run" unless $self->{var};

    local $ENV{KANBAN_VAR} = $self->{var};
    local $ENV{KANBAN_PG_PORT} = $self->{pg_port};
    local $ENV{KANBAN_NGINX} = 0;
    local $ENV{KANBAN_DEMO} = 0;

    my $out = `$Kanban::Test::ROOT/conf/kanbanctl $cmd 2>&1`;
    croak "kanbanctl $cmd: $out" if $?;

    return $out;
}


# PostgreSQL and Redis both; start brings back whichever is down.
sub start { $_[0]->_ctl('start'); $_[0]{up} = 1; $_[0] }
sub stop  { $_[0]->_ctl('stop'); $_[0]{up} = 0; $_[0] }


# PostgreSQL alone, shut down fast (clients are cut off); start brings it
# back.
sub stop_pg {
    my ($self) = @_;

    croak "the shared stack belongs to t/run" unless $self->{var};

    my $dbh = $self->dbh('postgres');
    my ($data) = $dbh->selectrow_array('SHOW data_directory');
    $dbh->disconnect;

    my $out = `runuser -u postgres -- $PG_BIN/pg_ctl -D '$data' -m fast -w stop 2>&1`;
    croak "pg_ctl stop: $out" if $?;
}


# Redis alone, the way it dies when its machine goes away.
sub stop_redis {
    my ($self) = @_;

    my $s = IO::Socket::UNIX->new(Peer => "$self->{run}/redis.sock")
        or croak "redis: $!";
    print $s "SHUTDOWN NOSAVE\r\n";
    1 while <$s>;

    my $deadline = time + 10;
    sleep 0.05 while -S "$self->{run}/redis.sock" && time < $deadline;
}


# Another PostgreSQL cluster of this stack for workspace databases,
# registered in its catalog (kanbanctl server start); its port.
sub server_start {
    my ($self, $name) = @_;
    my $port = Kanban::Test::free_port();
    $self->ctl("server start $name $port");
    return $self->{servers}{$name} = $port;
}


# kanbanctl with the arguments given, on this stack; what it printed.
sub ctl { my ($self, $args) = @_; return $self->_ctl($args) }


# Our own connections are named, so that a test can tell nginx's apart.
# A server's DSN (the catalog's db_dsn, "host=... port=...") reaches a
# database on another server; none or '' is the catalog's.
sub dbh {
    my ($self, $db, $server) = @_;
    if (defined $server && length $server) {
        my %kv = $server =~ /(\w+)=(\S+)/g;
        return DBI->connect("dbi:Pg:dbname=$db;host=$kv{host};"
                            . "port=$kv{port};"
                            . "application_name=$Kanban::Test::APP_NAME",
                            'postgres', '',
                            { RaiseError => 1, PrintError => 0,
                              AutoCommit => 1 });
    }
    return DBI->connect("dbi:Pg:dbname=$db;host=$self->{run};"
                        . "port=$self->{pg_port};"
                        . "application_name=$Kanban::Test::APP_NAME",
                        'postgres', '',
                        { RaiseError => 1, PrintError => 0,
                          AutoCommit => 1 });
}


sub destroy_private {
    for my $stack (@private) {
        eval { $stack->stop } if $stack->{up};
        remove_tree($stack->{var});
    }
    @private = ();
    undef $shared if $shared && $shared->{var};
}




###########################################################################
# a workspace and its members, signed in

package Kanban::Test::Workspace;

use Carp qw(croak);

our $PASSWORD = 'correct horse battery staple';

sub new {
    my ($class, $t, $slug) = @_;
    my $self = bless { t => $t, slug => $slug }, $class;
    $self->{admin} = $self->login("admin\@$slug.example");
    return $self;
}

sub slug { $_[0]{slug} }
sub admin { $_[0]{admin} }
sub dbh { $_[0]{dbh} //= $_[0]{t}->tenant_dbh($_[0]{slug}) }

# {id, email, name, role, token, refresh} of a signed-in user
sub login {
    my ($self, $email, $password) = @_;
    my $r = $self->try_login($email, $password);
    croak "login of $email: $r->{status} $r->{body}" unless $r->{status} == 200;
    return { %{ $r->{json}{user} }, token => $r->{json}{access_token},
             refresh => $r->{json}{refresh_token} };
}

# the response of a login that may fail
sub try_login {
    my ($self, $email, $password) = @_;
    return $self->{t}->req(POST => '/api/v1/auth/login', host => $self->{slug},
                           json => { email => $email,
                                     password => $password // $PASSWORD });
}

# a new user of that role (contributor by default), signed in
sub member {
    my ($self, $name, $role) = @_;
    my $email = lc($name =~ s/\W+/./gr) . "\@$self->{slug}.example";
    my $r = $self->api($self->{admin}, POST => '/api/v1/users', json => {
        email => $email, name => $name, role => $role // 'contributor',
        password => $PASSWORD });
    croak "create $name: $r->{status} $r->{body}" unless $r->{status} == 201;
    return $self->login($email);
}

# a team of these members; returns the team
sub team {
    my ($self, $name, @members) = @_;
    my $r = $self->api($self->{admin}, POST => '/api/v1/teams',
                       json => { name => $name });
    croak "team $name: $r->{status} $r->{body}" unless $r->{status} == 201;
    my $team = $r->{json};
    for my $m (@members) {
        $r = $self->api($self->{admin},
                        PUT => "/api/v1/teams/$team->{id}/members/$m->{id}");
        croak "member of $name: $r->{status}" unless $r->{status} == 204;
    }
    return $team;
}

# api(MEMBER, TOKEN or undef, METHOD => path, json/body/headers/host...)
sub api {
    my ($self, $who, $method, $path, %o) = @_;
    return $self->{t}->req($method => $path, host => $self->{slug},
                           headers => _headers($who, delete $o{headers}),
                           %o);
}

# send_api(the same): the request sent, not waited for; a Kanban::Test::Conn
sub send_api {
    my ($self, $who, $method, $path, %o) = @_;
    return $self->{t}->send_req($method => $path, host => $self->{slug},
                                headers => _headers($who, delete $o{headers}),
                                %o);
}

# the headers given, with the Authorization of $who unless they have one
sub _headers {
    my ($who, $given) = @_;
    my %headers = %{ $given // {} };
    $headers{Authorization} //= 'Bearer ' . (ref $who ? $who->{token} : $who)
        if $who;
    return \%headers;
}

1;

