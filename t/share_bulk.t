#!/usr/bin/perl

# Share links in bulk (issue 25): up to 1,000 links in one request, a JSON
# array or a CSV upload; every row's result reported by its number, the
# good rows made although bad ones are among them; nothing made when the
# request itself is bad (over the cap, neither JSON nor CSV, not an array,
# an unknown column, too large); the codes of rows that made nothing given
# back to the catalog; the links made open like any other.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(time);

use Kanban::Test qw(made problem_is);

my $t = Kanban::Test->new->run;
my $ws = $t->workspace(prefix => 'bulk');
my $slug = $ws->slug;
my $dbh = $ws->dbh;
my $admin = $ws->admin;
my $ann = $ws->member('Ann');

sub bulk_json {
    my ($who, $rows) = @_;
    return $ws->api($who, POST => '/api/v1/share-links/bulk', json => $rows);
}

sub bulk_csv {
    my ($who, $csv) = @_;
    return $ws->api($who, POST => '/api/v1/share-links/bulk', body => $csv,
                    headers => { 'Content-Type' => 'text/csv' });
}

sub links_count {
    return $dbh->selectrow_array('SELECT count(*) FROM share_links');
}

# the codes the catalog holds for this workspace
sub catalog_codes {
    return $t->catalog->selectrow_array(
        'SELECT count(*) FROM share_codes
          WHERE tenant_id = (SELECT id FROM tenants WHERE slug = ?)',
        undef, $slug);
}

my $project = made($ws->api($admin, POST => '/api/v1/projects',
                            json => { key => 'BLK', name => 'Bulk' }),
                   'project');
my $task = made($ws->api($admin, POST => "/api/v1/projects/$project->{id}/tasks",
                         json => { title => 'Shared in bulk' }), 'task');

# --- JSON: good rows made, bad rows named ----------------------------------

my $r = bulk_json($ann, [
    { url => 'https://example.com/one', expires_in_seconds => 3600 },
    { url => 'javascript:alert(1)' },
    { task_id => $task->{id}, max_visits => 3 },
    { project_id => $project->{id}, password => 'secret1' },
    'not an object',
    { url => 'https://example.com/two', colour => 'red' },
    { task_id => '00000000-0000-4000-8000-000000000000' },
    { url => 'https://example.com/three', max_visits => 0 },
    { url => 'https://example.com/four', task_id => $task->{id} },
    { url => 'https://example.com/five', expires_at => '2001-01-01T00:00:00Z' },
    { project_id => $project->{id} },
]);
is($r->{status}, 200, 'a JSON array with bad rows: 200') or diag($r->{body});
my $res = $r->{json};
is($res->{created}, 3, 'three rows made');
is($res->{failed}, 8, 'eight rows refused');
is_deeply([map { $_->{row} } @{$res->{results}}], [1 .. 11],
          'every row reported, numbered from 1, in order');
is_deeply([map { $_->{status} } @{$res->{results}}],
          [qw(created failed created failed failed failed failed failed
              failed failed created)], 'each row created or failed');
my %why = map { $_->{row} => $_->{error} } grep { $_->{error} }
          @{$res->{results}};
like($why{2}, qr/http or https/, 'row 2: not an http(s) URL');
like($why{4}, qr/password cannot be set in bulk/i, 'row 4: no password');
like($why{5}, qr/must be an object/, 'row 5: not an object');
like($why{6}, qr/Unknown field colour/, 'row 6: an unknown field');
like($why{7}, qr/no such task/, 'row 7: a task of no one');
like($why{8}, qr/max_visits/, 'row 8: max_visits out of range');
like($why{9}, qr/exactly one of/, 'row 9: two targets');
like($why{10}, qr/in the past/, 'row 10: expired already');

my @made = map { $_->{link} } grep { $_->{status} eq 'created' }
           @{$res->{results}};
is($made[1]{target_type}, 'task', 'row 3 is a link to the task');
is($made[1]{max_visits}, 3, 'with its max_visits');
like($made[0]{short_url}, qr{/s/[0-9A-Za-z]{10}$}, 'a short URL with its code');
is(links_count(), 3, 'three links in the workspace');
is(catalog_codes(), 3, "the catalog keeps only the made links' codes");

my $visit = $t->req(GET => "/s/$made[0]{code}", host => $slug);
is($visit->{status}, 302, 'a link made in bulk redirects');
is($visit->{headers}{location}, 'https://example.com/one', 'to its URL');

my $one = made($ws->api($ann, GET => "/api/v1/share-links/$made[2]{id}"),
               'one link');
is($one->{target_id}, $project->{id}, 'and reads like any other');

is(made($ws->api($admin, GET => "/api/v1/share-links/$made[0]{id}"), 'admin')
   ->{created_by}, $ann->{id}, 'made by the caller');

# --- CSV: the header names the columns, rows numbered as a spreadsheet's -----

$r = bulk_csv($ann, join "\r\n",
    'URL,Expires_In_Seconds,max_visits',
    'https://example.com/csv-1,60,',
    '"https://example.com/csv-2?a=1,2",,5',
    '',
    'ftp://example.com/nope,,',
    'https://example.com/csv-3,sixty,',
    'https://example.com/csv-4',
    '');
is($r->{status}, 200, 'a CSV upload: 200') or diag($r->{body});
$res = $r->{json};
is($res->{created}, 2, 'two CSV rows made');
is_deeply([map { [$_->{row}, $_->{status}] } @{$res->{results}}],
          [[2, 'created'], [3, 'created'], [5, 'failed'], [6, 'failed'],
           [7, 'failed']],
          'rows numbered by record, the header row 1, blank lines skipped');
is($res->{results}[1]{link}{url}, 'https://example.com/csv-2?a=1,2',
   'a quoted cell keeps its comma');
is($res->{results}[1]{link}{max_visits}, 5, 'a number cell is a number');
like($res->{results}[3]{error}, qr/expires_in_seconds/,
     'a number cell that is no number: named');
like($res->{results}[4]{error}, qr/1 cells; the header has 3/,
     'a short row: named');
is(links_count(), 5, 'five links in all');
is(catalog_codes(), 5, 'the catalog again holds only the made codes');

# --- the request itself bad: nothing made --------------------------------

my @many = map { { url => "https://example.com/many/$_" } } 1 .. 1001;
problem_is(bulk_json($ann, \@many), 422, 'validation_failed',
           '1,001 rows: over the cap, 422');
problem_is(bulk_csv($ann, join("\n", 'url', map { "https://e.com/$_" }
                                            1 .. 1001)),
           422, 'validation_failed', '1,001 CSV rows: 422');
problem_is($ws->api($ann, POST => '/api/v1/share-links/bulk',
                    body => "url\nhttps://example.com/x\n",
                    headers => { 'Content-Type' => 'text/plain' }),
           415, 'unsupported_media_type', 'neither JSON nor CSV: 415');
problem_is($ws->api($ann, POST => '/api/v1/share-links/bulk',
                    body => '[{"url": "https://example.com/x"',
                    headers => { 'Content-Type' => 'application/json' }),
           400, 'bad_request', 'JSON that does not parse: 400');
problem_is(bulk_json($ann, { url => 'https://example.com/x' }), 422,
           'validation_failed', 'an object, not an array: 422');
problem_is(bulk_json($ann, []), 422, 'validation_failed', 'no rows: 422');
problem_is(bulk_csv($ann, "url,colour\nhttps://example.com/x,red\n"), 422,
           'validation_failed', 'an unknown CSV column: 422');
problem_is(bulk_csv($ann, "url\n\"https://example.com/x\n"), 422,
           'validation_failed', 'a stray quote: not CSV, 422');
problem_is(bulk_csv($ann, "url\n" . ('https://example.com/' . 'x' x 2000
                                     . "\n") x 600),
           413, 'payload_too_large', 'over 1 MiB: 413');
problem_is($ws->api(undef, POST => '/api/v1/share-links/bulk',
                    json => [{ url => 'https://example.com/x' }]),
           401, 'unauthorized', 'no one signed in: 401');
is(links_count(), 5, 'none of these made a link');
is(catalog_codes(), 5, 'nor kept a code');

# --- 1,000 rows at once --------------------------------------------------

my @thousand = map { { url => "https://example.com/k/$_",
                       ($_ % 100 == 0 ? (max_visits => -1) : ()) } }
               1 .. 1000;
my $t0 = time;
$r = bulk_json($ann, \@thousand);
my $took = time - $t0;
is($r->{status}, 200, '1,000 rows: 200') or diag($r->{body});
is($r->{json}{created}, 990, '990 made');
is($r->{json}{failed}, 10, 'the 10 bad ones refused');
is_deeply([map { $_->{row} } grep { $_->{status} eq 'failed' }
           @{$r->{json}{results}}], [map { $_ * 100 } 1 .. 10],
          'by their rows');
is(links_count(), 995, '995 links in all');
is(catalog_codes(), 995, 'and as many codes in the catalog');
diag(sprintf '1,000-row bulk create: %.3f s', $took);

$t->done_testing;
