#!/usr/bin/perl

# GitHub deliveries accepted a second (make bench; alone: BENCH_ONLY=github
# make bench). One workspace, a project of 40 tasks linked to a repository;
# wrk (-t1 -c10) posts pull_request deliveries as GitHub does: JSON,
# signed with the link's secret (X-Hub-Signature-256 over the body), each
# with an X-GitHub-Delivery of its own, each naming one of the tasks (the
# body chosen in turn from 40, so each is verified, taken, linked and, the
# first time, moves its task). Then the same with one delivery id sent
# again and again: what a duplicate costs. Printed: deliveries a second,
# p99, and what the database holds after (one delivery row per request
# answered 200, one link per task).

use strict;
use warnings;

use Digest::SHA qw(hmac_sha256_hex);
use JSON::XS ();
use Kanban::Test;

$Kanban::Test::QUIET = 1;

my $DURATION = $ENV{BENCH_DURATION} // '10s';
my $JSON = JSON::XS->new->utf8->canonical;

my $t = Kanban::Test->new(log_level => 'warn')->run;
my $port = $t->port;
my $slug = $t->signup(prefix => 'ghb', name => 'Bench GitHub');
my $ws = Kanban::Test::Workspace->new($t, $slug);

sub api {
    my ($method, $path, %o) = @_;
    my $r = $ws->api($ws->admin, $method => $path, %o);
    die "$method $path: $r->{status} $r->{body}\n" unless $r->{status} =~ /^2/;
    return $r->{json};
}

my $project = api(POST => '/api/v1/projects',
                  json => { key => 'BENCH', name => 'GitHub bench' });
my @tasks = map {
    api(POST => "/api/v1/projects/$project->{id}/tasks",
        json => { title => "Bench task $_" })
} 1 .. 40;
my $link = api(POST => "/api/v1/projects/$project->{id}/integrations/github",
               json => { repository => 'acme/bench' });
my $path = "/hooks/github/$link->{id}";

# a body a task, in the shape GitHub sends, and its signature
my @bodies = map {
    my $n = $_ + 1;
    my $b = $JSON->encode({
        action => 'opened', number => $n,
        pull_request => {
            html_url => "https://github.com/acme/bench/pull/$n",
            number => $n, state => 'open', draft => JSON::XS::false(),
            merged => JSON::XS::false(),
            title => "Fixes $tasks[$_]{key}: the bench",
            body => 'Made by t/bench/github.pl ' . ('.' x 2000),
            user => { login => 'octocat' },
            updated_at => '2026-12-06T11:00:00Z',
            head => { ref => $tasks[$_]{git_branch},
                      sha => 'ec26c3e57ca3a959ca5aad62de7213c562f8c821' },
            base => { ref => 'main' },
        },
        repository => { full_name => 'acme/bench',
                        html_url => 'https://github.com/acme/bench' },
        sender => { login => 'octocat' },
    });
    [ $b, 'sha256=' . hmac_sha256_hex($b, $link->{secret}) ];
} 0 .. $#tasks;

sub lua_string { my ($s) = @_; $s =~ s/\\/\\\\/g; $s =~ s/"/\\"/g; return "\"$s\"" }

my $lua = $t->var . '/github.lua';
Kanban::Test::write_file($lua, "local bodies = {\n"
    . join('', map { '  { ' . lua_string($_->[0]) . ', ' . lua_string($_->[1]) . " },\n" } @bodies)
    . <<"LUA");
}
local n = 0
local same = os.getenv("BENCH_GITHUB_SAME")
local run = os.getenv("BENCH_GITHUB_RUN") or "0"
request = function()
    n = n + 1
    local b = bodies[n % #bodies + 1]
    local id = same and "bench-the-same-delivery" or
               string.format("bench-%s-%d", run, n)
    return wrk.format("POST", "$path",
                      -- given headers replace wrk.headers (Host kept)
                      { ["Content-Type"] = "application/json",
                        ["X-GitHub-Event"] = "pull_request",
                        ["X-GitHub-Delivery"] = id,
                        ["X-Hub-Signature-256"] = b[2] }, b[1])
end
LUA

sub wrk {
    my ($duration, %env) = @_;
    local @ENV{keys %env} = values %env;
    my $out = `wrk -t1 -c10 -d$duration --latency -s '$lua' -H 'Host: $slug.localhost:$port' http://127.0.0.1:$port$path 2>&1`;
    my %unit = (us => 1e-3, ms => 1, s => 1e3, m => 60e3);
    my %r;
    ($r{rps}) = $out =~ /Requests\/sec:\s+([\d.]+)/;
    my ($p99, $u) = $out =~ /^\s+99%\s+([\d.]+)(us|ms|s|m)\b/m;
    die "wrk: $out" unless defined $p99;
    $r{p99} = $p99 * $unit{$u};
    ($r{total}) = $out =~ /(\d+) requests in/;
    ($r{non2xx}) = $out =~ /Non-2xx or 3xx responses:\s+(\d+)/ or $r{non2xx} = 0;
    return \%r;
}

print "github: signed pull_request deliveries to one link, wrk -t1 -c10 -d$DURATION\n";
wrk('2s', BENCH_GITHUB_RUN => 'warm');               # warm-up
my $dbh = $ws->dbh;
my ($before) = $dbh->selectrow_array('SELECT count(*) FROM github_deliveries');
my $new = wrk($DURATION, BENCH_GITHUB_RUN => 'new');
my ($after) = $dbh->selectrow_array('SELECT count(*) FROM github_deliveries');
my $dup = wrk($DURATION, BENCH_GITHUB_SAME => 1);
my ($links) = $dbh->selectrow_array('SELECT count(*) FROM task_links');
my ($moved) = $dbh->selectrow_array(
    "SELECT count(*) FROM activity_log WHERE via = 'GitHub' AND action = 'moved'");

printf "  %-48s %9s %12s\n", '', 'req/s', 'p99';
for ([ 'new deliveries (verified, taken, linked)', $new ],
     [ 'one delivery id again and again (duplicates)', $dup ]) {
    printf "  %-48s %9.0f %9.2f ms%s\n", $_->[0], $_->[1]{rps}, $_->[1]{p99},
        $_->[1]{non2xx} ? " ($_->[1]{non2xx} not 2xx)" : '';
}
printf "  %-48s %21s\n", 'deliveries taken in the run / answered',
    ($after - $before) . " / $new->{total}";
printf "  %-48s %21s\n", 'links / tasks moved by GitHub', "$links / $moved";

$t->stop;
