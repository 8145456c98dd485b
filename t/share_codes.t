#!/usr/bin/perl

# Share-link codes over many links made through the API, 20 at a time:
# each at least 8 base62 characters, no two alike (in the workspace and
# in the catalog that keeps them unique across workspaces), characters
# evenly drawn, consecutive codes unrelated.
#
# The issue asks for 100,000: about 85 s on a 2-core machine, the longest
# file of the suite. KANBAN_TEST_CODES=5000 makes fewer, for a quick run.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(time);

use Kanban::Test;

my $N = $ENV{KANBAN_TEST_CODES} // 100_000;
my $PARALLEL = 20;

my $t = Kanban::Test->new(log_level => 'warn')->run;
my $ws = $t->workspace(prefix => 'codes');
my $slug = $ws->slug;
my $auth = { Authorization => "Bearer $ws->{admin}{token}" };

my (@codes, %bad, @inflight);
my $sent = 0;
my $start = time;

while (@codes + keys(%bad) < $N) {
    while (@inflight < $PARALLEL && $sent < $N) {
        push @inflight, $t->send_req(POST => '/api/v1/share-links',
            host => $slug, headers => $auth,
            json => { url => "https://example.com/$sent" });
        $sent++;
    }
    Kanban::Test::pump(\@inflight, 0.05);
    for my $c (grep { $_->done } @inflight) {
        my $r = $c->response;
        if ($r->{status} == 201 && defined $r->{json}{code}) {
            push @codes, $r->{json}{code};
        } else {
            $bad{ scalar keys %bad } = "$r->{status} $r->{body}";
        }
    }
    @inflight = grep { !$_->done } @inflight;

    # a token lives 15 minutes
    if (time - $start > 600 && !$ws->{renewed}++) {
        $ws->{admin} = $ws->login($ws->{admin}{email});
        $auth->{Authorization} = "Bearer $ws->{admin}{token}";
    }
}

my $took = time - $start;
diag(sprintf '%d links in %.1f s (%.0f/s, %d connections)', $N, $took,
     $N / $took, $PARALLEL);

is(scalar keys %bad, 0, "$N links made") or diag((values %bad)[0]);
my @shape = grep { !/^[0-9A-Za-z]{8,}$/ } @codes;
is(scalar @shape, 0, 'every code: at least 8 base62 characters')
    or diag("e.g. '$shape[0]'");
my %seen;
my @dups = grep { $seen{$_}++ } @codes;
is(scalar @dups, 0, 'no two codes alike') or diag("e.g. $dups[0]");

my ($in_ws, $distinct_ws) = $ws->dbh->selectrow_array(
    'SELECT count(*), count(DISTINCT code) FROM share_links');
is($in_ws, $N, "$N links in the workspace");
is($distinct_ws, $N, 'with distinct codes');

my ($in_catalog, $distinct, $mine) = $t->catalog->selectrow_array(
    'SELECT count(*), count(DISTINCT code),
            count(*) FILTER (WHERE tenant_id = (SELECT id FROM tenants
                                                 WHERE slug = ?))
       FROM share_codes', undef, $slug);
is($distinct, $in_catalog, 'codes unique in the catalog');
is($mine, $N, "the catalog has the workspace's $N codes");
my ($missing) = $t->catalog->selectrow_array(
    'SELECT count(*) FROM unnest(?::text[]) c(code)
      WHERE NOT EXISTS (SELECT 1 FROM share_codes s WHERE s.code = c.code)',
    undef, \@codes);
is($missing, 0, 'each code the API gave is in the catalog');

# Characters evenly drawn: chi-square over the 62 of them (61 degrees of
# freedom; 130 is passed by chance about once in a million runs).
my %count;
my $chars = 0;
for (@codes) { $count{$_}++, $chars++ for split // }
my @alphabet = ('0' .. '9', 'A' .. 'Z', 'a' .. 'z');
my $expected = $chars / 62;
my $chi = 0;
$chi += (($count{$_} // 0) - $expected) ** 2 / $expected for @alphabet;
cmp_ok($chi, '<', 130, 'characters evenly drawn (chi-square < 130)')
    or diag(join ' ', map { "$_:" . ($count{$_} // 0) } @alphabet);
is(scalar(grep { !$count{$_} } @alphabet), 0, 'all 62 of them used');

# Nothing sequential: codes made one after another share a 2-character
# prefix about once in 3844 pairs, and no more often than that.
my $ordered = $ws->dbh->selectcol_arrayref(
    'SELECT code FROM share_links ORDER BY created_at, id');
my $close = grep { substr($ordered->[$_], 0, 2)
                   eq substr($ordered->[$_ - 1], 0, 2) } 1 .. $#$ordered;
cmp_ok($close, '<', 10 + 3 * $N / 3844,
       'consecutive codes no more alike than chance');

$t->done_testing;
