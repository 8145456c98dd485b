#!/usr/bin/perl

# Redirect rules of share links (issue 25): by device (User-Agent), by
# browser language (Accept-Language with q-values), by country (nginx's
# GeoIP module and Debian's offline database, the client's address handed
# in through realip from loopback: crafted addresses, no traffic to them)
# and weighted A/B targets, the first match winning, else the link's own
# URL; a UTM template merged into every target's query string; each
# visit's rule, destination and country recorded, in the analytics and
# visits.csv; bad rules refused with 422s; the A/B split within 2 % over
# 10,000 visits.

use strict;
use warnings;

use IO::Socket::INET;
use Test::More;
use Time::HiRes qw(sleep time);

use Kanban::Test qw(made problem_is);

# addresses of Debian's GeoIP.dat (geoiplookup): GB, DE, US
my %from = (GB => '81.2.69.160', DE => '5.9.0.1', US => '8.8.8.8');

my $t = Kanban::Test->new(tenant => <<'CONF')->run;
set_real_ip_from 127.0.0.1;
real_ip_header X-Forwarded-For;
CONF
my $ws = $t->workspace(prefix => 'rules');
my $slug = $ws->slug;
my $dbh = $ws->dbh;
my $admin = $ws->admin;
my $ann = $ws->member('Ann');
my $bob = $ws->member('Bob');

my $IPHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) '
           . 'AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1';
my $ANDROID = 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 '
            . 'Chrome/120.0 Mobile Safari/537.36';
my $WINDOWS = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 '
            . 'Chrome/120.0 Safari/537.36';

sub create {
    my ($who, %body) = @_;
    return made($ws->api($who, POST => '/api/v1/share-links',
                         json => \%body), 'link');
}

sub rules {
    my ($who, $link, %body) = @_;
    return $ws->api($who, PUT => "/api/v1/share-links/$link->{id}/rules",
                    json => \%body);
}

# where a visit with these headers is sent
sub visit {
    my ($link, %h) = @_;
    my $r = $t->req(GET => "/s/$link->{code}", host => $slug, headers => {
        'User-Agent' => $h{agent} // $WINDOWS,
        'Accept-Language' => $h{language},
        'X-Forwarded-For' => $h{from} ? $from{ $h{from} } : undef });
    return $r->{status} == 302 ? $r->{headers}{location}
                               : "status $r->{status}";
}

sub settled {
    my ($link, $want) = @_;
    my $deadline = time + 10;
    my $n;
    while (1) {
        ($n) = $dbh->selectrow_array(
            'SELECT count(*) FROM share_link_visits WHERE link_id = ?',
            undef, $link->{id});
        last if $n >= $want || time > $deadline;
        sleep 0.2;
    }
    return $n;
}

# --- rules set, and the first match wins ---------------------------------

my $home = create($ann, url => 'https://example.com/home');
is_deeply($home->{rules}, [], 'a new link has no rules');
is($home->{utm}, undef, 'nor a UTM template');

my $r = rules($ann, $home,
    rules => [
        { match => 'device', values => ['ios'],
          url => 'https://example.com/ios' },
        { match => 'language', values => ['de'],
          url => 'https://example.com/de#top' },
        { match => 'country', values => ['GB', 'ie'],
          url => 'https://example.com/uk?ref=rules' },
        { match => 'device', values => ['android'],
          url => 'https://example.com/android' },
    ],
    utm => { source => 'news letter', medium => 'email' });
is($r->{status}, 200, 'PUT rules: 200') or diag $r->{body};
is(scalar @{ $r->{json}{rules} }, 4, 'the link shows its four rules');
is_deeply($r->{json}{utm}, { source => 'news letter', medium => 'email' },
          'and its UTM template');

my $utm = 'utm_source=news%20letter&utm_medium=email';

is(visit($home, agent => $IPHONE, language => 'de', from => 'GB'),
   "https://example.com/ios?$utm",
   'an iPhone: the device rule, first though the others match too');
is(visit($home, agent => $ANDROID,
         language => 'fr;q=0.5, de-AT;q=0.9, en;q=0.8'),
   "https://example.com/de?$utm#top",
   'de-AT preferred (the highest q) matches "de"; UTM before the fragment');
is(visit($home, agent => $ANDROID, language => 'en, de;q=0.9', from => 'GB'),
   "https://example.com/uk?ref=rules&$utm",
   'English preferred, from a British address: the country rule, its '
   . 'query kept');
is(visit($home, agent => $ANDROID, language => 'en', from => 'US'),
   "https://example.com/android?$utm",
   'from the US on Android: the fourth rule');
is(visit($home, agent => $WINDOWS, language => 'de;q=0, en', from => 'US'),
   "https://example.com/home?$utm",
   'no rule matches (de at q=0 is no preference): the link\'s own URL');
is(visit($home, agent => $WINDOWS, language => '*', from => 'DE'),
   "https://example.com/home?$utm", 'nor does "*" or another country');

# --- each visit recorded with its rule, destination and country ---------

is(settled($home, 6), 6, 'the six visits stored');
my $an = made($ws->api($ann, GET => "/api/v1/share-links/$home->{id}/analytics"),
              'analytics');
my %by_rule = map { ($_->{rule} // 0) => $_->{visits} } @{ $an->{by_rule} };
is_deeply(\%by_rule, { 0 => 2, 1 => 1, 2 => 1, 3 => 1, 4 => 1 },
          'the analytics count the visits by rule (none: the link\'s URL)');
my %by_country = map { $_->{country} => $_->{visits} } @{ $an->{by_country} };
is_deeply(\%by_country, { GB => 2, US => 2, DE => 1 },
          'and by country, from the offline database');

my $csv = $ws->api($ann, GET => "/api/v1/share-links/$home->{id}/visits.csv");
is($csv->{status}, 200, 'visits.csv: 200');
my @rows = split /\r\n/, $csv->{body};
is($rows[0], 'visited_at,referrer,user_agent,bot,ip,rule,destination,country',
   'its header names the rule, destination and country');
ok((grep { /,81\.2\.69\.0,3,https:\/\/example\.com\/uk\?ref=rules&\Q$utm\E,GB$/ }
    @rows), 'a row: the British visit, its address anonymised, rule 3, '
    . 'where to and GB') or diag explain \@rows;

# --- UTM merged into a target that has parameters -----------------------

my $p = create($ann, url => 'https://example.com/p?utm_source=keep&a=1#frag');
$r = rules($ann, $p,
    rules => [{ match => 'country', values => ['DE'],
                url => 'https://example.com/de?' }],
    utm => { source => 'x', campaign => 'spring sale' });
is($r->{status}, 200, 'a country rule set') or diag $r->{body};
is(visit($p, from => 'US'),
   'https://example.com/p?utm_source=keep&a=1&utm_campaign=spring%20sale#frag',
   'the link\'s own URL: its utm_source kept, the missing campaign added');
is(visit($p, from => 'DE'),
   'https://example.com/de?utm_source=x&utm_campaign=spring%20sale',
   'a German address: the rule\'s URL with the template');

# rules changed: the next visit follows them (the link leaves the cache)
$r = rules($ann, $p, rules => []);
is($r->{status}, 200, 'rules cleared');
is($r->{json}{utm}, undef, 'no utm given: the template cleared too');
is(visit($p, from => 'DE'), 'https://example.com/p?utm_source=keep&a=1#frag',
   'the next visit from Germany goes to the link\'s own URL, as it was');

# --- bad rules: clear 422s ------------------------------------------------

my %ok = (match => 'device', values => ['ios'],
          url => 'https://example.com/x');
my @bad = (
    [[({%ok}) x 11], 'eleven rules'],
    [[{ %ok, url => 'ftp://example.com/x' }], 'an ftp target'],
    [[{ %ok, url => 'javascript:alert(1)' }], 'a javascript: target'],
    [[{ %ok, url => 'https://exa mple.com/' }], 'a target with a space'],
    [[{ %ok, url => 'x' x 2049 }], 'a target over 2048 characters'],
    [[{ %ok, match => 'weather' }], 'an unknown match'],
    [[{ %ok, values => ['toaster'] }], 'an unknown device'],
    [[{ %ok, values => [] }], 'no values'],
    [[{ match => 'country', values => ['DEU'], url => 'https://e.com/' }],
     'a three-letter country'],
    [[{ match => 'language', values => ['de_DE!'], url => 'https://e.com/' }],
     'a language that is no tag'],
    [[{ match => 'split', targets => [{ url => 'https://e.com/a',
                                        weight => 100 }] }],
     'a split of one target'],
    [[{ match => 'split', targets => [{ url => 'https://e.com/a', weight => 0 },
                                      { url => 'https://e.com/b',
                                        weight => 50 }] }],
     'a weight of 0'],
    [[{ match => 'split', targets => [{ url => 'https://e.com/a',
                                        weight => 101 },
                                      { url => 'https://e.com/b',
                                        weight => 50 }] }],
     'a weight of 101'],
    [[{ match => 'split', url => 'https://e.com/a',
        targets => [{ url => 'https://e.com/a', weight => 1 },
                    { url => 'https://e.com/b', weight => 1 }] }],
     'a split with a url of its own'],
    [[{ %ok, colour => 'red' }], 'an unknown field'],
);
for my $case (@bad) {
    my ($rules, $what) = @$case;
    problem_is(rules($ann, $home, rules => $rules), 422, 'validation_failed',
               "$what: 422");
}
problem_is(rules($ann, $home, rules => [], utm => { source => 'x',
                                                   ref => 'y' }),
           422, 'validation_failed', 'an unknown UTM parameter: 422');
problem_is(rules($ann, $home, utm => { source => 'x' }), 422,
           'validation_failed', 'no rules at all: 422');

my $bad = rules($ann, $home, rules => [{ %ok, url => 'ftp://example.com/x' }]);
like($bad->{json}{detail}, qr/rules\[0\]\.url must be an http or https URL/,
     'the detail names the rule and what is wrong');

$bad = rules($ann, $home, rules => [\%ok, { match => 'split', targets => [
    { url => 'https://e.com/a', weight => 50 },
    { url => 'ftp://e.com/b', weight => 50 }] }]);
like($bad->{json}{detail}, qr/^rules\[1\]\.targets\[1\]\.url must be an http/,
     'a split\'s bad target is named by its place, for the form to show it '
     . 'there');
$bad = rules($ann, $home, rules => [{ match => 'split', targets => [
    { url => 'https://e.com/a', weight => 50 },
    { url => 'https://e.com/b', weight => 0 }] }]);
is($bad->{json}{errors}[0]{field}, 'rules[0].targets[1].weight',
   'a weight out of range: the field named the same way')
    or diag $bad->{body};

is(visit($home, agent => $IPHONE), "https://example.com/ios?$utm",
   'refused rules leave the link\'s rules as they were');

my $team = $ws->team('Red', $ann);
my $project = made($ws->api($admin, POST => '/api/v1/projects', json => {
    key => 'RUL', name => 'Ruled', team_id => $team->{id} }), 'project');
my $plink = create($admin, project_id => $project->{id});
$bad = rules($admin, $plink, rules => [\%ok]);
problem_is($bad, 422, 'validation_failed', 'rules on a project\'s link: 422');
like($bad->{json}{detail}, qr/for links to a URL/, 'which says why');

problem_is(rules($bob, $home, rules => []), 404, 'not_found',
           'another member\'s link: 404');

my $gone = create($ann, url => 'https://example.com/gone');
is($ws->api($ann, DELETE => "/api/v1/share-links/$gone->{id}")->{status}, 204,
   'a link revoked');
problem_is(rules($ann, $gone, rules => []), 409, 'conflict',
           'its rules cannot be changed: 409');

# --- the A/B split: within 2 % over 10,000 visits ------------------------

my $ab = create($ann, url => 'https://example.com/ab');
$r = rules($ann, $ab, rules => [{ match => 'split', targets => [
    { url => 'https://example.com/a', weight => 30 },
    { url => 'https://example.com/b', weight => 70 }] }]);
is($r->{status}, 200, 'a 30/70 split set') or diag $r->{body};

# 10,000 visits over keep-alive connections, 100 requests in flight
my %went;
my $visits = 10_000;
my $sent = 0;
my $started = time;
while ($sent < $visits) {
    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                     PeerPort => $t->port, Proto => 'tcp')
        or die "connect: $!";
    # nginx closes a keep-alive connection after 1,000 requests
    my $on_this = 0;
    while ($on_this < 900 && $sent < $visits) {
        my $n = 100;
        $n = $visits - $sent if $visits - $sent < $n;
        my $req = "GET /s/$ab->{code} HTTP/1.1\r\n"
                . "Host: $slug.localhost:" . $t->port . "\r\n"
                . "User-Agent: $WINDOWS\r\n\r\n";
        print {$sock} $req x $n;
        my ($buf, $got) = ('', 0);
        while ($got < $n) {
            my $read = sysread($sock, $buf, 65536, length $buf);
            die "read: $!" unless $read;
            while ($buf =~ s/\AHTTP\/1\.1 (\d+)[^\r]*\r\n((?:[^\r]+\r\n)*)\r\n//) {
                my ($status, $head) = ($1, $2);
                my ($loc) = $head =~ /^Location: (\S+)/mi;
                $went{ $status == 302 ? $loc : "status $status" }++;
                $got++;
            }
        }
        $sent += $n;
        $on_this += $n;
    }
    close $sock;
}
my $took = time - $started;
note(sprintf '10,000 visits in %.1f s', $took);

is(($went{'https://example.com/a'} // 0) + ($went{'https://example.com/b'} // 0),
   $visits, 'every visit sent to a or b') or diag explain \%went;
my $share_a = ($went{'https://example.com/a'} // 0) / $visits;
ok(abs($share_a - 0.30) <= 0.02,
   sprintf('a got %.2f %% of the visits (30 %% wanted, within 2)',
           100 * $share_a));

is(settled($ab, $visits), $visits, 'the 10,000 visits stored');
my ($stored_a) = $dbh->selectrow_array(
    q{SELECT count(*) FROM share_link_visits
       WHERE link_id = ? AND rule = 1 AND destination = 'https://example.com/a'},
    undef, $ab->{id});
is($stored_a, $went{'https://example.com/a'},
   'each stored with rule 1 and the target it was sent to');

$t->done_testing;
