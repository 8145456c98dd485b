#!/usr/bin/perl

# Rules by country for IPv6 visitors (issue 25): nginx reads Debian's
# GeoIPv6.dat, which answers IPv6 addresses and, as ::ffff:a.b.c.d, IPv4
# ones too. Client addresses are handed in through realip from loopback
# (crafted addresses, no traffic to them); each visit's country is
# recorded, an address the database does not know has none.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep time);

use Kanban::Test;

# addresses of Debian's GeoIPv6.dat (geoiplookup6)
my %from = (
    DE6 => '2a01:4f8::1',            # Hetzner
    US6 => '2001:4860:4860::8888',   # Google's resolver
    DOC => '2001:db8::1',            # documentation range: no country
    GB4 => '81.2.69.160',
    US4 => '8.8.8.8',
);

my $t = Kanban::Test->new(tenant => <<'CONF')->run;
set_real_ip_from 127.0.0.1;
real_ip_header X-Forwarded-For;
CONF
my $ws = $t->workspace(prefix => 'geo6');
my $slug = $ws->slug;
my $dbh = $ws->dbh;
my $ann = $ws->member('Ann');

sub made {
    my ($r, $what) = @_;
    die "$what: $r->{status} $r->{body}"
        unless $r->{status} == 201 || $r->{status} == 200;
    return $r->{json};
}

# where a visit from this address is sent
sub visit {
    my ($link, $from) = @_;
    my $r = $t->req(GET => "/s/$link->{code}", host => $slug, headers => {
        'User-Agent' => 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) '
                      . 'Gecko/20100101 Firefox/128.0',
        'X-Forwarded-For' => $from{$from} });
    return $r->{status} == 302 ? $r->{headers}{location}
                               : "status $r->{status}";
}

my $link = made($ws->api($ann, POST => '/api/v1/share-links',
                         json => { url => 'https://example.com/home' }),
                'link');
my $r = $ws->api($ann, PUT => "/api/v1/share-links/$link->{id}/rules", json => {
    rules => [
        { match => 'country', values => ['DE'],
          url => 'https://example.com/de' },
        { match => 'country', values => ['US'],
          url => 'https://example.com/us' },
        { match => 'country', values => ['GB'],
          url => 'https://example.com/gb' },
    ] });
is($r->{status}, 200, 'three country rules set') or diag $r->{body};

is(visit($link, 'DE6'), 'https://example.com/de',
   'a German IPv6 address: the DE rule');
is(visit($link, 'US6'), 'https://example.com/us',
   'an American IPv6 address: the US rule');
is(visit($link, 'DOC'), 'https://example.com/home',
   'an IPv6 address no country has: the link\'s own URL');
is(visit($link, 'GB4'), 'https://example.com/gb',
   'IPv4 still works from the same database: a British address');
is(visit($link, 'US4'), 'https://example.com/us', 'and an American one');

# the visits are flushed once a second
my $deadline = time + 10;
my $n;
while (1) {
    ($n) = $dbh->selectrow_array(
        'SELECT count(*) FROM share_link_visits WHERE link_id = ?',
        undef, $link->{id});
    last if $n >= 5 || time > $deadline;
    sleep 0.2;
}
is($n, 5, 'the five visits stored');

my $an = made($ws->api($ann, GET => "/api/v1/share-links/$link->{id}/analytics"),
              'analytics');
my %by_country = map { ($_->{country} // '') => $_->{visits} }
                 @{ $an->{by_country} };
is($by_country{DE}, 1, 'the analytics count the German IPv6 visit');
is($by_country{US}, 2, 'and both American ones, IPv6 and IPv4');
is($by_country{GB}, 1, 'and the British one');

my $csv = $ws->api($ann, GET => "/api/v1/share-links/$link->{id}/visits.csv");
my @rows = split /\r\n/, $csv->{body};
ok((grep { /,2a01:4f8::,1,https:\/\/example\.com\/de,DE$/ } @rows),
   'visits.csv: the IPv6 visit anonymised to its /48, rule 1, DE')
    or diag explain \@rows;
ok((grep { /,2001:db8::,,https:\/\/example\.com\/home,$/ } @rows),
   'the unknown address: no rule, no country')
    or diag explain \@rows;

done_testing;
