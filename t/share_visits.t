#!/usr/bin/perl

# Visits of share links as their makers count them: max_visits exact when
# a hundred visitors arrive at once; every visit of an unlimited link
# stored; what a visit records in PostgreSQL (referrer, agent, the bot
# flag, the address with its last octet or last 80 bits zeroed, over IPv4
# and IPv6), even with invalid UTF-8 in the headers; the analytics of a
# hand-made fixture; visits kept across nginx -s reload and -s quit; and
# codes scanned from one client rate-limited.

use strict;
use warnings;

use IO::Socket::IP;
use Socket qw(AF_INET6);
use Test::More;
use Time::HiRes qw(sleep time);

use Kanban::Test qw(made problem_is);

# A second server on [::1] answers /s/ for the workspaces, when this host
# has IPv6.
my $port6;
{
    my $probe = IO::Socket::IP->new(LocalHost => '::1', LocalPort => 0,
                                    Listen => 1, ReuseAddr => 1);
    $port6 = $probe->sockport if $probe;
}

my $http6 = !$port6 ? undef : <<"END";
server {
    listen [::1]:$port6;
    server_name ~^(?<tenant>[a-z0-9-]+)\\.localhost\$;
    kanban_tenant \$tenant;
    location /s/ { kanban_share; }
}
END

my $t = Kanban::Test->new(http => $http6)->run;

my $ws = $t->workspace(prefix => 'visits');
my $slug = $ws->slug;
my $dbh = $ws->dbh;
my $admin = $ws->admin;

sub link_for {
    my ($w, %body) = @_;
    return made($w->api($w->admin, POST => '/api/v1/share-links',
                        json => \%body), 'share link');
}

sub visit {
    my ($code, %o) = @_;
    return $t->req(GET => "/s/$code", host => $slug, %o);
}

# one request from another address: 127.x.y.z, or ::1 to the IPv6 server
sub from {
    my ($local, $method, $path, %o) = @_;
    my $nginx = delete $o{t} // $t;
    my $v6 = $local =~ /:/;
    my $port = $v6 ? $port6 : $nginx->port;
    my $s = IO::Socket::IP->new(PeerHost => $v6 ? '::1' : '127.0.0.1',
                                PeerPort => $port, LocalHost => $local,
                                Timeout => 10)
        or die "connect from $local: $@";
    print $s $nginx->request_text($method, $path,
        host_header => ($o{host} // $slug) . ".localhost:$port", %o);
    local $/;
    my $in = <$s>;
    return bless({ in => $in // '', done => 1 }, 'Kanban::Test::Conn')
        ->response;
}

sub rows {
    my ($link, $w) = @_;
    my ($n) = ($w // $ws)->dbh->selectrow_array(
        'SELECT count(*) FROM share_link_visits WHERE link_id = ?', undef,
        $link->{id});
    return $n;
}

sub visits_shown {
    my ($link, $w) = @_;
    $w //= $ws;
    my $r = $w->api($w->admin, GET => "/api/v1/share-links/$link->{id}");
    return $r->{json}{visits};
}

# waits (up to $secs) for the visits of a link to be stored: the count
sub settled {
    my ($link, $want, $secs, $w) = @_;
    my $deadline = time + ($secs // 5);
    my $n;
    while (1) {
        $n = rows($link, $w);
        last if $n >= $want || time > $deadline;
        sleep 0.2;
    }
    return $n;
}


###########################################################################
# max_visits under concurrency

my $ten = link_for($ws, url => 'https://example.com/ten', max_visits => 10);
my @conns = map { $t->send_req(GET => "/s/$ten->{code}", host => $slug) }
            1 .. 100;
Kanban::Test::wait_all(\@conns, 60);
my %got;
$got{ $_->response->{status} }++ for @conns;
is($got{302} // 0, 10, '100 visitors at once on a 10-visit link: 10 x 302');
is($got{410} // 0, 90, 'and 90 x 410')
    or diag(explain \%got);
sleep 2;
is(visits_shown($ten), 10, 'the link shows 10 visits');
is(settled($ten, 10), 10, '10 visits stored');
sleep 1.5;
is(rows($ten), 10, 'and no more');
is(visit($ten->{code})->{status}, 410, 'an 11th visit later: 410');

my $free = link_for($ws, url => 'https://example.com/free');
my $n = 25;
@conns = map { $t->send_req(GET => "/s/$free->{code}", host => $slug) }
         1 .. $n;
Kanban::Test::wait_all(\@conns, 60);
is(scalar(grep { $_->response->{status} == 302 } @conns), $n,
   "an unlimited link: $n visits, $n redirects");
is(settled($free, $n), $n, "$n visits stored");
is(visits_shown($free), $n, "the link shows $n");


###########################################################################
# what a visit records

my $firefox = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 '
            . 'Firefox/128.0';
my $chrome = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 '
           . '(KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';
my $slack = 'Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)';
my $google = 'Mozilla/5.0 (compatible; Googlebot/2.1; '
           . '+http://www.google.com/bot.html)';

my $rec = link_for($ws, url => 'https://example.com/recorded');
my @sent = (
    [ '127.0.0.1', $firefox, 'https://news.example/a?b=1' ],
    [ '127.0.0.77', $slack, undef ],
    [ '127.1.2.3', $google, 'https://search.example/' ],
    [ '127.4.5.6', undef, undef ],
);
for (@sent) {
    my ($ip, $ua, $ref) = @$_;
    my $r = from($ip, GET => "/s/$rec->{code}", headers => {
        'User-Agent' => $ua, Referer => $ref });
    is($r->{status}, 302, "a visit from $ip");
}
is(settled($rec, scalar @sent), scalar @sent, 'each visit stored');
my $stored = $dbh->selectall_arrayref(
    'SELECT host(ip), user_agent, referrer, bot FROM share_link_visits
      WHERE link_id = ?', undef, $rec->{id});
# batches of two workers: in no particular order
sub by_agent { ($a->[1] // '') cmp ($b->[1] // '') }
is_deeply([ sort by_agent @$stored ], [ sort by_agent (
    [ '127.0.0.0', $firefox, 'https://news.example/a?b=1', 0 ],
    [ '127.0.0.0', $slack, undef, 1 ],
    [ '127.1.2.0', $google, 'https://search.example/', 1 ],
    [ '127.4.5.0', undef, undef, 0 ],
) ], 'address with the last octet zeroed, agent, referrer, bot flag')
    or diag(explain $stored);
my ($times) = $dbh->selectrow_array(
    "SELECT count(*) FROM share_link_visits WHERE link_id = ?
        AND visited_at BETWEEN now() - interval '1 minute' AND now()",
    undef, $rec->{id});
is($times, scalar @sent, 'each with the time of the visit');
my ($whole) = $dbh->selectrow_array(
    "SELECT count(*) FROM share_link_visits WHERE host(ip) !~ '\\.0\$'
        AND family(ip) = 4");
is($whole, 0, 'no whole IPv4 address stored anywhere');

SKIP: {
    skip 'no IPv6 on this host', 3 unless $port6;
    my $six = link_for($ws, url => 'https://example.com/six');
    my $r = from('::1', GET => "/s/$six->{code}",
                 headers => { 'User-Agent' => $firefox });
    is($r->{status}, 302, 'a visit over IPv6');
    is(settled($six, 1), 1, 'stored');
    my ($ip) = $dbh->selectrow_array(
        'SELECT host(ip) FROM share_link_visits WHERE link_id = ?', undef,
        $six->{id});
    is($ip, '::', '::1 with its last 80 bits zeroed: ::');
}

# Invalid UTF-8 in the headers: the visit is stored (the bad bytes
# replaced), and so are the visits that share its batch.
{
    my $w = $t->workspace(prefix => 'utf');
    my $bad = link_for($w, url => 'https://example.com/bad');
    my $good = link_for($w, url => 'https://example.com/good');
    my @agents = ("Mozilla \xed\xa0\x80 surrogate", "Mozilla \xc3\xc3 x",
                  "Mozilla \xff\xfe", "Mozilla \xe2\x82 cut",
                  "Mozilla \xc0\xaf overlong");
    for my $ua (@agents) {
        my $r = from('127.0.0.1', GET => "/s/$bad->{code}", host => $w->slug,
                     headers => {
                         'User-Agent' => $ua,
                         Referer => "https://r.example/\xed\xbf\xbf" });
        is($r->{status}, 302, 'a visit with invalid UTF-8: 302');
    }
    from('127.0.0.1', GET => "/s/$good->{code}", host => $w->slug,
         headers => { 'User-Agent' => $firefox });
    is(settled($good, 1, 4, $w), 1,
       'a good visit in the same batch is stored');
    is(settled($bad, scalar @agents, 1, $w), scalar @agents,
       'the visits with invalid UTF-8 are stored');
    is(visits_shown($bad, $w), scalar @agents, 'and counted');
}

# A visit PostgreSQL refuses for its data, among good ones: the batch is
# stored one visit at a time, so only that visit is lost, and counted.
# (A constraint on this workspace's batches of visits stands for data a
# column does not take.) Odd data is cleaned before: a control character, a
# referrer of 2,000 bytes cut to 512.
{
    my $w = $t->workspace(prefix => 'refuse');
    $w->dbh->do(q{ALTER TABLE share_link_visit_batches
                  ADD CONSTRAINT refuse_test
                  CHECK (NOT 'Refused/1.0' = ANY (user_agent)) NOT VALID});
    my $link = link_for($w, url => 'https://example.com/mixed');
    my $lost = $t->metric('kanban_share_visits_lost_total') // 0;

    my @conns;
    for my $i (1 .. 20) {
        my $ua = $i == 10 ? 'Refused/1.0' : "$firefox good/$i";
        push @conns, $t->send_req(GET => "/s/$link->{code}", host => $w->slug,
            headers => { 'User-Agent' => $ua,
                         Referer => "https://r.example/\x01" . ('r' x 2000) });
    }
    Kanban::Test::wait_all(\@conns, 30);
    is(scalar(grep { $_->response->{status} == 302 } @conns), 20,
       '20 visits, one of them refused by PostgreSQL: 20 x 302');

    is(settled($link, 19, 8, $w), 19, 'the 19 good visits are stored');
    sleep 1.5;
    is(rows($link, $w), 19, '... and not the refused one');
    is(($t->metric('kanban_share_visits_lost_total') // 0) - $lost, 1,
       'the lost visit is counted in /metrics');

    my ($max, $odd) = $w->dbh->selectrow_array(q{
        SELECT max(octet_length(referrer)),
               count(*) FILTER (WHERE referrer ~ '[[:cntrl:]]')
          FROM share_link_visits WHERE link_id = ?}, undef, $link->{id});
    is($max, 512, 'a referrer of 2,000 bytes is cut to 512');
    is($odd, 0, '... and its control character replaced');
}

# The same with the visits of two links in one batch (a group each), the
# refused visit in the second group: each link keeps every other visit,
# each field in its place.
{
    my $w = $t->workspace(prefix => 'refuse2');
    $w->dbh->do(q{ALTER TABLE share_link_visit_batches
                  ADD CONSTRAINT refuse_test
                  CHECK (NOT 'Refused/2.0' = ANY (user_agent)) NOT VALID});
    my @links = map { link_for($w, url => "https://example.com/two/$_") }
                qw(a b);
    my $lost = $t->metric('kanban_share_visits_lost_total') // 0;

    for my $i (1 .. 12) {
        my $link = $links[$i % 2];
        my $ua = $i == 7 ? 'Refused/2.0' : "$firefox two/$i";
        my $r = $t->req(GET => "/s/$link->{code}", host => $w->slug,
                        headers => { 'User-Agent' => $ua,
                                     Referer => "https://r.example/$i" });
        die "visit: $r->{status}" unless $r->{status} == 302;
    }

    is(settled($links[0], 6, 8, $w), 6, 'two links: the first one\'s 6');
    is(settled($links[1], 5, 8, $w), 5, '... the second one\'s 5 of 6');
    sleep 1.5;
    is(rows($links[1], $w), 5, '... and not the refused one');
    is(($t->metric('kanban_share_visits_lost_total') // 0) - $lost, 1,
       '... counted lost');
    is(visits_shown($links[1], $w), 5, '... nor counted on its link');

    my $bad = $w->dbh->selectrow_array(q{
        SELECT count(*)
          FROM (SELECT link_id, referrer,
                       substring(user_agent FROM 'two/([0-9]+)$')::int AS i
                  FROM share_link_visits
                 WHERE link_id = ANY (?::uuid[])) v
         WHERE i IS NULL
            OR referrer IS DISTINCT FROM 'https://r.example/' || i
            OR (i % 2 = 0) <> (link_id = ?::uuid)},
        undef, [ map { $_->{id} } @links ], $links[0]{id});
    is($bad, 0, '... each visit with its own referrer, on its own link');
}


###########################################################################
# analytics

my $an = link_for($ws, url => 'https://example.com/analysed');
my $news = 'https://news.example/item/1';
my @fixture = (
    # address, agent, referrer, times
    [ '127.0.0.1', $firefox, $news, 3 ],
    [ '127.0.1.5', $firefox, $news, 1 ],
    [ '127.0.2.9', $chrome, undef, 2 ],
    [ '127.0.3.1', $chrome, 'https://mail.example/', 1 ],
    [ '127.0.0.1', $slack, 'https://slack.example/', 2 ],
    [ '127.0.4.1', $google, 'https://spam.example/', 1 ],
);
for my $f (@fixture) {
    for (1 .. $f->[3]) {
        from($f->[0], GET => "/s/$an->{code}", headers => {
            'User-Agent' => $f->[1], Referer => $f->[2] });
    }
}
is(settled($an, 10), 10, 'the fixture: 10 visits stored');
my ($day) = $dbh->selectrow_array(
    "SELECT min((visited_at AT TIME ZONE 'UTC')::date)::text
       FROM share_link_visits WHERE link_id = ?", undef, $an->{id});
my $r = $ws->api($admin, GET => "/api/v1/share-links/$an->{id}/analytics");
is($r->{status}, 200, 'analytics: 200');
my $a = $r->{json} // {};
is($a->{visits}, 7, 'visits: the 7 by people, bots left out');
is($a->{unique_visitors}, 4, 'unique_visitors: 4 (address and agent)');
is($a->{bots}, 3, 'bots: 3');
is_deeply($a->{by_day}, [ { date => $day, visits => 7,
                            unique_visitors => 4 } ], 'by_day');
is_deeply($a->{top_referrers},
          [ { referrer => $news, visits => 4 },
            { referrer => 'https://mail.example/', visits => 1 } ],
          "top_referrers: people's, most first");
is_deeply($a->{user_agents},
          [ { user_agent => $firefox, visits => 4 },
            { user_agent => $chrome, visits => 3 } ],
          "user_agents: people's, most first");
is(visits_shown($an) + 0, 7, 'the link shows 7 visits, as the analytics')
    or diag('bots are counted in the link\'s visits');

# a chat's link preview at a one-time link: neither uses it up nor sees
# where it leads
my $once = link_for($ws, url => 'https://example.com/secret-target',
                    max_visits => 1);
$r = visit($once->{code}, headers => { 'User-Agent' => $slack });
is($r->{status}, 200, 'a crawler at a one-time link: 200, a page');
unlike($r->{body}, qr/secret-target/, '... that does not show the target');
is($r->{headers}{'cache-control'}, 'private, no-store', '... not cached');
$r = visit($once->{code}, headers => { 'User-Agent' => $firefox });
is($r->{status}, 302, 'the person it was sent to still gets through');
is($r->{headers}{location}, 'https://example.com/secret-target',
   '... to the target');
is(visit($once->{code}, headers => { 'User-Agent' => $firefox })->{status},
   410, '... once');
is(settled($once, 2), 2, 'both visits stored');
is(visits_shown($once) + 0, 1, '... the link shows the one by a person');

# HEAD (link checkers, mail scanners) is no visit
my $checked = link_for($ws, url => 'https://example.com/checked',
                       max_visits => 1);
$r = $t->req(HEAD => "/s/$checked->{code}", host => $slug);
is($r->{status}, 200, 'HEAD of a one-time link: 200, no target');
ok(!$r->{headers}{location}, '... no Location');
$r = visit($checked->{code});
is($r->{status}, 302, '... and the link is still there for its person');
my $plain = link_for($ws, url => 'https://example.com/free');
$r = $t->req(HEAD => "/s/$plain->{code}", host => $slug);
is($r->{status}, 302, 'HEAD of an unlimited link: 302');
is($r->{headers}{location}, 'https://example.com/free', '... to the target');
visit($plain->{code});
is(settled($plain, 1), 1, '... recorded: the GET');
sleep 1.5;
is(rows($plain), 1, '... and not the HEAD');

my $empty = link_for($ws, url => 'https://example.com/none');
$r = $ws->api($admin, GET => "/api/v1/share-links/$empty->{id}/analytics");
is_deeply([ @{ $r->{json} }{qw(visits unique_visitors bots by_day
                               top_referrers user_agents)} ],
          [ 0, 0, 0, [], [], [] ], 'a link never visited: zeros and []');


###########################################################################
# visits kept across reload and quit

sub signal {
    my ($sig) = @_;
    my ($rc, $out) = $t->_nginx('-s', $sig, '-e',
                                $t->var . '/log/error.log');
    die "nginx -s $sig: $rc $out" if $rc;
}

my $rl = link_for($ws, url => 'https://example.com/reload');
my $pending = 0;
for (1 .. 20) {
    $pending++ if visit($rl->{code})->{status} == 302;
}
diag('before reload: ' . rows($rl) . " of $pending stored");
signal('reload');
is(settled($rl, 20, 6), 20, 'nginx -s reload right after 20 visits: all 20 '
                            . 'stored');
is(visits_shown($rl), 20, 'and counted');
is(visit($rl->{code})->{status}, 302, 'the new workers answer');

my $qt = link_for($ws, url => 'https://example.com/quit');
for (1 .. 20) { visit($qt->{code}) }
my $pid = $t->pid;
diag('before quit: ' . rows($qt) . ' of 20 stored');
signal('quit');
my $deadline = time + 20;
sleep 0.1 while kill(0, $pid) && time < $deadline;
ok(!kill(0, $pid), 'nginx -s quit: nginx is gone');
$t->{running} = 0;
is(rows($qt), 20, 'all 20 visits stored');
$t->run;
is(visits_shown($qt), 20, 'and counted, after a restart');


###########################################################################
# scanning codes

my $t2 = Kanban::Test->new(share_rate => '60r/m')->run;
my $w2 = $t2->workspace(prefix => 'scan');
my $l2 = made($w2->api($w2->admin, POST => '/api/v1/share-links',
                       json => { url => 'https://example.com/scan' }),
              'link');
my @alnum = ('0' .. '9', 'A' .. 'Z', 'a' .. 'z');
my (%scan, $limited);
for (1 .. 50) {
    my $code = join '', map { $alnum[rand @alnum] } 1 .. 10;
    my $r = $t2->req(GET => "/s/$code", host => $w2->slug);
    $scan{ $r->{status} }++;
    $limited //= $r if $r->{status} == 429;
}
ok($scan{429}, '50 random codes from one client at 60r/m: 429s')
    or diag(explain \%scan);
ok(($scan{404} // 0) >= 20, 'after the burst of 404s');
like($limited->{headers}{'retry-after'} // '', qr/^\d+$/,
     'with Retry-After');
$r = from('127.0.0.3', GET => "/s/$l2->{code}", t => $t2,
          host => $w2->slug);
is($r->{status}, 302, 'another client meanwhile: 302');

$t->done_testing;
