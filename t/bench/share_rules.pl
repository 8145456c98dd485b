#!/usr/bin/perl

# What redirect rules cost the share-link redirect (alone:
# BENCH_ONLY=share_rules make bench). Two links to a URL of one
# workspace, alike but for their rules: none, and five that the visitor
# (a Windows browser preferring English, from loopback) matches none of,
# so that every visit reads all five (two by device, two by language,
# one by country) and goes to the link's own URL, as the other's do.
# wrk on each in turn, BENCH_SHARE_RULES_RUNS rounds (5; which goes first
# alternates), so that the machine's other work weighs on both; printed:
# each round's req/s and p99, and the median of the rounds' ratios (the
# goal: at least 0.9x).

use strict;
use warnings;

use Kanban::Test;

$Kanban::Test::QUIET = 1;

my $DURATION = $ENV{BENCH_DURATION} // '10s';
my $RUNS = $ENV{BENCH_SHARE_RULES_RUNS} // 5;

my $t = Kanban::Test->new(log_level => 'warn', share_rate => '1000000r/s',
                          share_burst => 1000000)->run;
my $slug = $t->signup(prefix => 'srb', name => 'Bench share rules');
my $ws = Kanban::Test::Workspace->new($t, $slug);

sub api {
    my ($method, $path, %o) = @_;
    my $r = $ws->api($ws->admin, $method => $path, %o);
    die "$method $path: $r->{status} $r->{body}\n" unless $r->{status} =~ /^2/;
    return $r->{json};
}

my $none = api(POST => '/api/v1/share-links',
               json => { url => 'https://example.com/none' });
my $five = api(POST => '/api/v1/share-links',
               json => { url => 'https://example.com/five' });
api(PUT => "/api/v1/share-links/$five->{id}/rules", json => { rules => [
    { match => 'device', values => ['ios'], url => 'https://example.com/i' },
    { match => 'language', values => ['de', 'fr'],
      url => 'https://example.com/l' },
    { match => 'country', values => ['DE', 'FR', 'GB'],
      url => 'https://example.com/c' },
    { match => 'device', values => ['android', 'mobile'],
      url => 'https://example.com/a' },
    { match => 'language', values => ['pt-BR', 'es'],
      url => 'https://example.com/p' } ] });

my $base = 'http://127.0.0.1:' . $t->port;
my @H = ('-H', "Host: $slug.localhost:" . $t->port,
         '-H', 'User-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64) '
               . 'AppleWebKit/537.36 Chrome/120.0 Safari/537.36',
         '-H', 'Accept-Language: en-US,en;q=0.9,de;q=0.3');

# both go to their own URL: the rules are read, none matches
for my $link ($none, $five) {
    my $r = $t->req(GET => "/s/$link->{code}", host => $slug, headers => {
        'User-Agent' => 'Mozilla/5.0 (Windows NT 10.0)',
        'Accept-Language' => 'en-US,en;q=0.9,de;q=0.3' });
    die "GET /s/$link->{code}: $r->{status}\n" unless $r->{status} == 302;
}

sub wrk {
    my ($code) = @_;
    my @cmd = ('wrk', '-t2', '-c50', "-d$DURATION", '--latency', @H,
               "$base/s/$code");
    my $out = `@{[ map { "'$_'" } @cmd ]} 2>&1`;
    die "wrk: $out" if $?;
    my %unit = (us => 1e-3, ms => 1, s => 1e3);
    my ($rps) = $out =~ /Requests\/sec:\s+([\d.]+)/;
    my ($p99, $u) = $out =~ /^\s+99%\s+([\d.]+)(us|ms|s)\b/m;
    my ($bad) = $out =~ /Non-2xx or 3xx responses:\s+(\d+)/;
    die "wrk: $bad answers not 302\n$out" if $bad;
    return { rps => $rps, p99 => $p99 * $unit{$u} };
}

sub median {
    my @v = sort { $a <=> $b } @_;
    return $v[int($#v / 2)];
}

wrk($none->{code});                     # warm up
my (@none, @five, @ratio);
print "share_rules: GET /s/{code}, wrk -t2 -c50 -d$DURATION, $RUNS rounds\n";
for my $i (1 .. $RUNS) {
    if ($i % 2) {
        push @none, wrk($none->{code});
        push @five, wrk($five->{code});
    } else {
        push @five, wrk($five->{code});
        push @none, wrk($none->{code});
    }
    push @ratio, $five[-1]{rps} / ($none[-1]{rps} || 1);
    printf "  round %d: no rules %7.0f req/s (p99 %6.2f ms)   five rules "
           . "%7.0f req/s (p99 %6.2f ms)   %.2fx\n", $i, $none[-1]{rps},
           $none[-1]{p99}, $five[-1]{rps}, $five[-1]{p99}, $ratio[-1];
}

printf "  median: no rules %.0f req/s, five rules %.0f req/s; the rounds' "
       . "ratio %.2fx (goal: at least 0.9x)\n",
       median(map { $_->{rps} } @none), median(map { $_->{rps} } @five),
       median(@ratio);

$t->stop;
