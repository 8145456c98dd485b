#!/usr/bin/perl

# Share links kept in order (issue 25): tags and a folder on a link, made
# one by one or in bulk (JSON or CSV), the list filtered by them; a link's
# expiry, tags and folder changed (PATCH), the redirect judging the new
# expiry at once; its statistics readable after it expired or was revoked,
# and its visits exported as CSV with formula cells defused.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep time);

use Kanban::Test qw(made problem_is);

my $t = Kanban::Test->new->run;
my $ws = $t->workspace(prefix => 'filing');
my $slug = $ws->slug;
my $dbh = $ws->dbh;
my $admin = $ws->admin;
my $ann = $ws->member('Ann');
my $bob = $ws->member('Bob');

sub create {
    my ($who, %body) = @_;
    return $ws->api($who, POST => '/api/v1/share-links', json => \%body);
}

sub patch {
    my ($who, $link, %body) = @_;
    return $ws->api($who, PATCH => "/api/v1/share-links/$link->{id}",
                    json => \%body);
}

sub listed {
    my ($who, $query) = @_;
    my $r = made($ws->api($who, GET => "/api/v1/share-links?$query"), 'list');
    return [sort map { $_->{url} } @{$r->{items}}];
}

sub visit {
    my ($code, %o) = @_;
    return $t->req(GET => "/s/$code", host => $slug, %o);
}

# waits for the visits of a link to be stored (flushed each second)
sub settled {
    my ($link, $want) = @_;
    my $deadline = time + 5;
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

# --- tags and folders -----------------------------------------------------

my $a1 = made(create($ann, url => 'https://example.com/a1',
                     tags => ['launch', 'q4'], folder => 'Campaigns'), 'a1');
is_deeply($a1->{tags}, ['launch', 'q4'], 'a link made with its tags');
is($a1->{folder}, 'Campaigns', 'and its folder');
my $a2 = made(create($ann, url => 'https://example.com/a2'), 'a2');
is_deeply($a2->{tags}, [], 'no tags: an empty list');
is($a2->{folder}, undef, 'no folder: null');

problem_is(create($ann, url => 'https://example.com/x', tags => [('t') x 21]),
           422, 'validation_failed', '21 tags: 422');
problem_is(create($ann, url => 'https://example.com/x', tags => ['a', 'a']),
           422, 'validation_failed', 'a tag twice: 422');
problem_is(create($ann, url => 'https://example.com/x', tags => ['x' x 41]),
           422, 'validation_failed', 'a tag of 41 characters: 422');
problem_is(create($ann, url => 'https://example.com/x', folder => ''),
           422, 'validation_failed', 'an empty folder name: 422');
problem_is(create($ann, url => 'https://example.com/x', tags => 'launch'),
           422, 'validation_failed', 'tags not a list: 422');

my $bulk = made($ws->api($ann, POST => '/api/v1/share-links/bulk',
    body => join("\n", 'url,tags,folder',
                 'https://example.com/b1,launch; social ,Campaigns',
                 'https://example.com/b2,,Press',
                 'https://example.com/b3,' . join(';', 1 .. 21) . ','),
    headers => { 'Content-Type' => 'text/csv' }), 'bulk csv');
is($bulk->{created}, 2, 'CSV rows with tags and folders made');
is_deeply($bulk->{results}[0]{link}{tags}, ['launch', 'social'],
          'a tags cell split on ";", trimmed');
is($bulk->{results}[1]{link}{folder}, 'Press', 'a folder cell');
like($bulk->{results}[2]{error}, qr/tags: at most 20/, 'too many tags: the row refused');

$bulk = made($ws->api($ann, POST => '/api/v1/share-links/bulk',
    json => [{ url => 'https://example.com/j1', tags => ['q4'],
               folder => 'Press' },
             { url => 'https://example.com/j2', tags => [1] }]), 'bulk json');
is($bulk->{created}, 1, 'JSON rows with tags made');
like($bulk->{results}[1]{error}, qr/list of strings/, 'a tag not a string');

my $b1 = made(create($bob, url => 'https://example.com/bob',
                     tags => ['launch'], folder => 'Campaigns'), 'bob');

is_deeply(listed($ann, 'tag=launch'),
          ['https://example.com/a1', 'https://example.com/b1'],
          'filtered by a tag: her links carrying it');
is_deeply(listed($ann, 'folder=Press'),
          ['https://example.com/b2', 'https://example.com/j1'],
          'filtered by a folder');
is_deeply(listed($ann, 'tag=q4&folder=Campaigns'), ['https://example.com/a1'],
          'both filters at once');
is_deeply(listed($admin, 'tag=launch'),
          ['https://example.com/a1', 'https://example.com/b1',
           'https://example.com/bob'], "an admin's list: everyone's");
is_deeply(listed($ann, 'tag=nothing'), [], 'a tag no link has: none');

# --- PATCH: expiry, tags, folder ------------------------------------------

my $p = made(patch($ann, $a2, tags => ['later'], folder => 'Misc'), 'patch');
is_deeply($p->{tags}, ['later'], 'tags replaced');
is($p->{folder}, 'Misc', 'folder set');
$p = made(patch($ann, $a2, folder => undef), 'patch');
is($p->{folder}, undef, 'folder null: none');
is_deeply($p->{tags}, ['later'], 'the tags untouched');

is(visit($a2->{code})->{status}, 302, 'a link without expiry opens');
$p = made(patch($ann, $a2, expires_in_seconds => 1), 'patch');
ok(defined $p->{expires_at}, 'an expiry given');
sleep 2.1;
is(visit($a2->{code})->{status}, 410, 'the redirect judges it at once: 410');
$p = made(patch($ann, $a2, expires_at => undef), 'patch');
is($p->{expires_at}, undef, 'expires_at null: never');
is(visit($a2->{code})->{status}, 302, 'and it opens again');

problem_is(patch($ann, $a2, expires_at => '2001-01-01T00:00:00Z'), 422,
           'validation_failed', 'an expiry in the past: 422');
problem_is(patch($ann, $a2, expires_at => 'tomorrow'), 422,
           'validation_failed', 'not an RFC 3339 time: 422');
problem_is(patch($ann, $a2, expires_at => '2099-01-01T00:00:00Z',
                 expires_in_seconds => 60), 422, 'validation_failed',
           'both expiries: 422');
problem_is(patch($ann, $a2, url => 'https://example.com/other'), 422,
           'validation_failed', 'the target cannot change: 422');
problem_is(patch($ann, $a2), 422, 'validation_failed', 'nothing to change: 422');
problem_is(patch($bob, $a2, folder => 'Mine'), 404, 'not_found',
           "another's link: 404");
problem_is($ws->api($ann, PATCH => '/api/v1/share-links/nope',
                    json => { folder => 'x' }), 404, 'not_found',
           'not an id: 404');

my ($audit) = $dbh->selectrow_array(
    q{SELECT count(*) FROM activity_log
       WHERE entity_id = ? AND action = 'updated'}, undef, $a2->{id});
is($audit, 4, 'each change audited, the refused ones not');

# --- statistics outlive the link ------------------------------------------

my $s = made(create($ann, url => 'https://example.com/stats'), 'stats link');
visit($s->{code}, headers => { Referer => 'https://chat.example/room',
                               'User-Agent' => '=HYPERLINK("http://evil")' });
visit($s->{code}, headers => { 'User-Agent' => 'Mozilla/5.0, "quoted"' });
visit($s->{code}, headers => { 'User-Agent' => 'Googlebot/2.1' });
is(settled($s, 3), 3, 'three visits stored');

my $rv = $ws->api($ann, DELETE => "/api/v1/share-links/$s->{id}");
is($rv->{status}, 204, 'the link revoked');
is(visit($s->{code})->{status}, 410, 'it opens no more');
problem_is(patch($ann, $s, folder => 'x'), 409, 'conflict',
           'a revoked link cannot be changed: 409');

my $an = made($ws->api($ann, GET => "/api/v1/share-links/$s->{id}/analytics"),
              'analytics');
is($an->{visits}, 2, "a revoked link's analytics: its people's visits");
is($an->{bots}, 1, 'and its crawler');

my $csv = $ws->api($ann, GET => "/api/v1/share-links/$s->{id}/visits.csv");
is($csv->{status}, 200, 'the export of a revoked link: 200');
like($csv->{headers}{'content-type'}, qr{^text/csv}, 'as CSV');
like($csv->{headers}{'content-disposition'},
     qr/attachment; filename="share-link-$s->{id}-visits\.csv"/,
     'as a download');
my @lines = split /\r\n/, $csv->{body};
is($lines[0], 'visited_at,referrer,user_agent,bot,ip,rule,destination,country',
   'its header (the rule, destination and country: t/share_rules.t)');
is(scalar @lines, 4, 'a row a visit');
# the visits of one second come in the order the workers flushed them
my ($formula) = grep { /HYPERLINK/ } @lines[1 .. $#lines];
like($formula, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ,https:\/\/chat\.example\/room,"'=HYPERLINK\(""http:\/\/evil""\)",false,127\.0\.0\.0,,https:[^,]+,$/,
     'a formula defused, quotes doubled, the address anonymised');
ok((grep { /,"Mozilla\/5\.0, ""quoted""",false,/ } @lines),
   'a comma quoted');
ok((grep { /,Googlebot\/2\.1,true,/ } @lines), 'the crawler flagged');

problem_is($ws->api($bob, GET => "/api/v1/share-links/$s->{id}/visits.csv"),
           404, 'not_found', "another's export: 404");

# an expired link's statistics too
my $e = made(create($ann, url => 'https://example.com/soon',
                    expires_in_seconds => 1), 'expiring');
visit($e->{code});
is(settled($e, 1), 1, 'a visit before it expires');
sleep 2.1;
is(visit($e->{code})->{status}, 410, 'expired');
is(made($ws->api($ann, GET => "/api/v1/share-links/$e->{id}/analytics"),
        'analytics')->{visits}, 1, "an expired link's analytics");
my $ecsv = $ws->api($ann, GET => "/api/v1/share-links/$e->{id}/visits.csv");
is(scalar(split /\r\n/, $ecsv->{body}), 2, 'and its export');

$t->done_testing;
