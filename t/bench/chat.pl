#!/usr/bin/perl

# make bench, chat: 1,000 members of a workspace, each with a stream of
# GET /api/v1/events of their own (their own API token, held by
# t/bench/sse_load.c on one epoll), while one person posts chat messages at
# a steady rate through the API. Each delivery is timed from its post's
# request to the member's client. Two channels: a public one (its events
# have no readers list: every stream takes them) and a private one with
# all 1,000 as members (each stream finds its person in the event's
# 1,001-member readers list).
#
#   BENCH_ONLY=chat bash t/bench/run
#   BENCH_CHAT_MEMBERS=1000 BENCH_CHAT_RATES=10,50,100 BENCH_CHAT_SECONDS=10

use strict;
use warnings;

use Kanban::Test;
use IPC::Open3 qw(open3);
use Symbol qw(gensym);
use Time::HiRes qw(sleep);

$Kanban::Test::QUIET = 1;

my $MEMBERS = $ENV{BENCH_CHAT_MEMBERS} // 1000;
my @RATES = split /,/, $ENV{BENCH_CHAT_RATES} // '10,50,100';
my $SECONDS = $ENV{BENCH_CHAT_SECONDS} // 10;

my $root = $Kanban::Test::ROOT;
my $t = Kanban::Test->new(log_level => 'warn',
                          replace => { worker_connections => '16384' })->run;
my $slug = $t->signup(prefix => 'chatbench', name => 'Chat Bench');
my $port = $t->port;
my $host = "$slug.localhost:$port";

my $r = $t->req(POST => '/api/v1/auth/login', host => $slug,
                json => { email => "admin\@$slug.example",
                          password => 'correct horse battery staple' });
die "login: $r->{status} $r->{body}\n" unless $r->{status} == 200;
my $token = $r->{json}{access_token};
my $admin_id = $r->{json}{user}{id};

sub api {
    my ($method, $path, $json) = @_;
    my $r = $t->req($method => $path, host => $slug,
                    headers => { Authorization => "Bearer $token" },
                    $json ? (json => $json) : ());
    die "$method $path: $r->{status} $r->{body}\n" if $r->{status} >= 300;
    return $r->{json};
}

# the members and their API tokens, straight into the workspace's database
# (1,000 sign-ins would measure argon2, not chat)
my $dbh = $t->tenant_dbh($slug);
my $rows = $dbh->selectall_arrayref(q{
    WITH u AS (INSERT INTO users (email, name, role, status)
               SELECT 'member' || i || '@chat.bench', 'Member ' || i,
                      'contributor', 'active'
                 FROM generate_series(1, ?) i
               RETURNING id),
         t AS (SELECT id, 'kbt_' || replace(gen_random_uuid()::text
                                  || gen_random_uuid()::text, '-', '') AS tok
                 FROM u),
         k AS (INSERT INTO api_tokens (user_id, name, scopes, token_hash)
               SELECT id, 'chat bench', ARRAY['read'],
                      encode(sha256(convert_to(tok, 'UTF8')), 'hex')
                 FROM t)
    SELECT id, tok FROM t}, undef, $MEMBERS);
my $tokens = $t->var . '/chat_tokens';
Kanban::Test::write_file($tokens, join('', map { "$_->[1]\n" } @$rows));

my $public = api(POST => '/api/v1/chat/channels', { name => 'all-hands' });
my $private = api(POST => '/api/v1/chat/channels',
                  { name => 'inner-circle', private => JSON::XS::true() });
$dbh->do(q{INSERT INTO chat_members (channel_id, user_id)
           SELECT ?, id FROM users WHERE email LIKE '%@chat.bench'},
         undef, $private->{id});

my $client = $t->var . '/sse_load';
system('cc', '-O2', '-o', $client, "$root/t/bench/sse_load.c") == 0
    or die "cannot build t/bench/sse_load.c\n";

my @rows;
for my $ch ([public => $public], [private => $private]) {
    for my $rate (@RATES) {
        print "  $MEMBERS members, #$ch->[1]{name} ($ch->[0]), $rate messages/s ...\n";
        my $err = gensym;
        my $pid = open3(my $in, my $out, $err, $client, '-p', $port,
                        '-H', $host, '-t', $token, '-P', 'none',
                        '-C', $ch->[1]{id}, '-T', $tokens,
                        '-n', $MEMBERS, '-r', $rate, '-d', $SECONDS,
                        '-w', $rate >= 100 ? 16 : 4);
        close $in;
        my $res = <$out> // '';
        waitpid $pid, 0;
        my %k = $res =~ /(\w+)=([\d.]+)/g;
        print "    $res";
        push @rows, { kind => $ch->[0], rate => $rate, %k };
        sleep 2;                        # the streams close
    }
}

print "\nChat delivered live to $MEMBERS members, each on a stream of their "
    . "own (one node, 2 workers; $SECONDS s a run):\n";
printf "  %-9s %11s %14s %12s %6s %9s %9s %9s\n", 'channel', 'messages/s',
       'deliveries/s', 'deliveries', 'lost', 'p50', 'p99', 'max';
for my $x (@rows) {
    printf "  %-9s %11.0f %14.0f %12d %6d %7.1fms %7.1fms %7.1fms\n",
        $x->{kind}, ($x->{written} // 0) / $SECONDS,
        ($x->{deliveries} // 0) / $SECONDS, $x->{deliveries} // 0,
        ($x->{expected} // 0) - ($x->{deliveries} // 0),
        $x->{p50_ms} // -1, $x->{p99_ms} // -1, $x->{max_ms} // -1;
}
print "  (delivery: from the post's request to the member's client;\n"
    . "  streams open: " . join(', ', map { $_->{streams} // 0 } @rows) . ")\n";

$t->stop;
