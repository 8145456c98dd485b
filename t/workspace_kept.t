#!/usr/bin/perl

# GET /api/v1/workspace is kept (sql/tenant/098_workspace_kept.sql): the
# document its settings make is built when a setting is written, not on
# each read. Every writer of settings shows at once (the API, sign-up's
# name, SQL straight into the table), two writers of different settings
# at the same moment both show, and a write rolled back shows nothing.

use strict;
use warnings;

use DBD::Pg qw(:async);
use Test::More;
use Kanban::Test;

my $t = Kanban::Test->new->run;
my $ws = $t->workspace(prefix => 'kept', name => 'Kept & Co');
my $dbh = $ws->dbh;
my $admin = $ws->admin;

sub workspace {
    my $r = $ws->api(undef, GET => '/api/v1/workspace');
    die "workspace: $r->{status} $r->{body}" unless $r->{status} == 200;
    return $r->{json};
}

my $first = workspace();
is($first->{slug}, $ws->slug, 'the slug is the workspace\'s');
is($first->{name}, 'Kept & Co', 'sign-up\'s name is kept');
is_deeply([ @$first{qw(time_zone currency)}, 0 + $first->{open_registration} ],
          [ 'UTC', 'EUR', 0 ], 'the defaults');
is_deeply($first->{cors_origins}, [], 'no origins');

# through the API: PATCH answers with the new document, GET shows it
my $r = Kanban::Test::made($ws->api($admin, PATCH => '/api/v1/workspace',
    json => { time_zone => 'Asia/Tokyo', currency => 'JPY',
              cors_origins => ['https://board.example'] }), 'patch');
is_deeply(workspace(), $r, 'PATCH\'s answer is what GET reads next');
is($r->{time_zone}, 'Asia/Tokyo', '... the time zone');
is($r->{currency}, 'JPY', '... the currency');
is_deeply($r->{cors_origins}, ['https://board.example'], '... the origins');

# straight into the table, as a migration or an operator would
$dbh->do(q{UPDATE settings SET value = '"Renamed"' WHERE key = 'name'});
is(workspace()->{name}, 'Renamed', 'a setting written in SQL shows at once');
$dbh->do(q{DELETE FROM settings WHERE key = 'currency'});
is(workspace()->{currency}, 'EUR', 'a setting removed falls back');

# rolled back: nothing shows
$dbh->begin_work;
$dbh->do(q{UPDATE settings SET value = '"Never"' WHERE key = 'name'});
$dbh->rollback;
is(workspace()->{name}, 'Renamed', 'a write rolled back shows nothing');

# Two writers of two settings at once. The first holds its transaction
# open; the second, on its own connection, writes another key and waits
# (the kept row's lock, taken before any settings row); the first
# commits, then the second: the document has both. Without the lock the
# second would have built from a snapshot without the first's name.
my $other = $t->tenant_dbh($ws->slug);
$dbh->begin_work;
$dbh->do(q{UPDATE settings SET value = '"Both"' WHERE key = 'name'});
$other->begin_work;
$other->do(q{UPDATE settings SET value = '"Europe/Berlin"'
              WHERE key = 'time_zone'}, { pg_async => PG_ASYNC });
ok(Kanban::Test::wait_until([], sub {
       $dbh->selectrow_array(q{SELECT count(*) FROM pg_locks
                                WHERE NOT granted})
   }, 10), 'the second writer waits for the first');
is(workspace()->{name}, 'Renamed', 'neither is read before it commits');
$dbh->commit;
$other->pg_result;
is(workspace()->{name}, 'Both', 'the first shows once committed');
$other->commit;
my $both = workspace();
is_deeply([ @$both{qw(name time_zone)} ], [ 'Both', 'Europe/Berlin' ],
          'the second commits after it: both show');

is_deeply(workspace(), $ws->api($admin, PATCH => '/api/v1/workspace',
                                json => {})->{json},
          'an empty PATCH answers the same document');

done_testing;
