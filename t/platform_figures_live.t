#!/usr/bin/perl

# The console's figures of a workspace follow its writes without
# kanbanctl figures (no cron): the portal directory's step, which a write
# wakes, measures them too, at most once every 2 s per workspace; a burst
# of writes is measured again after it, so its last write shows; and a
# workspace nobody writes to is left alone (t/sweep_idle.t counts it).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes qw(sleep time);
use Kanban::Test;
use Kanban::Operator;

my $t = Kanban::Test->new->run;
my $catalog = $t->catalog;
my $op = Kanban::Operator->new($t);

my $ws = $t->workspace(prefix => 'figs');
my $slug = $ws->slug;
my $admin = $ws->admin;

sub figures {
    my $r = $op->api(GET => "/api/v1/platform/workspaces/$slug");
    is($r->{status}, 200, 'the console reads the workspace')
        or diag($r->{body});
    return $r->{json};
}

# the figures the console shows, polled as an operator's page would
sub shows_within {
    my ($seconds, $what, $cond) = @_;
    my $start = time;
    my $f;
    while (1) {
        my $r = $op->api(GET => "/api/v1/platform/workspaces/$slug");
        $f = $r->{json};
        last if $r->{status} == 200 && $cond->($f);
        if (time - $start > $seconds) {
            fail("$what: not within $seconds s");
            diag(explain($f));
            return $f;
        }
        sleep 0.2;
    }
    pass(sprintf '%s (after %.1f s)', $what, time - $start);
    return $f;
}

# the sign-up's step measured the new workspace already
my $f = shows_within(5, 'a new workspace has figures',
                     sub { defined $_[0]{figures_at} });
is($f->{users}, 1, '... its admin');
is($f->{tasks}, 0, '... no task');
cmp_ok($f->{size_bytes}, '>', 1_000_000, '... its database\'s size');

# a write shows within a few seconds, kanbanctl never run
my $p = $ws->api($admin, POST => '/api/v1/projects',
                 json => { key => 'FIG', name => 'Figures' })->{json};
my $first = $ws->api($admin, POST => "/api/v1/projects/$p->{id}/tasks",
                     json => { title => 'The first' });
is($first->{status}, 201, 'a task written');
$f = shows_within(5, 'the console counts it', sub { $_[0]{tasks} == 1 });
ok($f->{last_active_at}, '... with the last activity');

# a burst: every write woke the step, at most one measure in 2 s, and the
# burst's last write shows once it is over
my $at = $f->{figures_at};
for my $n (1 .. 10) {
    my $r = $ws->api($admin, POST => "/api/v1/projects/$p->{id}/tasks",
                     json => { title => "Burst $n" });
    is($r->{status}, 201, "burst task $n") or diag($r->{body});
}
$f = shows_within(6, 'the burst\'s last task counted, put off and not lost',
                  sub { $_[0]{tasks} == 11 });

# a member invited: users too
my $r = $ws->api($admin, POST => '/api/v1/users',
                 json => { email => "figs-$$\@example.com",
                           name => 'Fig Member', role => 'contributor',
                           password => $Kanban::Test::Workspace::PASSWORD });
ok($r->{status} == 201 || $r->{status} == 202, 'a member invited')
    or diag($r->{body});
shows_within(6, 'the console counts the member', sub { $_[0]{users} == 2 });

# after the writes, nothing more is due for the workspace in the catalog's
# due index (a measure put off is due once, then nothing)
sleep 3;
my ($rows) = $catalog->selectrow_array(
    q{SELECT count(*) FROM sweep_due WHERE slug = ? AND sweep = 'portal'},
    undef, $slug);
is($rows, 0, 'nothing left due in the due index once measured');

# two measures stored in the other order than they were taken (two
# workers' stores crossing, as a burst's last write on one worker and the
# one before it on the other): the older is ignored. The kept measure is
# made newer by hand; a write's measure and kanbanctl's then leave it, and
# once it is older again the next write shows
my ($tenant_id) = $catalog->selectrow_array(
    'SELECT id FROM tenants WHERE slug = ?', undef, $slug);
$catalog->do(q{UPDATE tenant_figures
                  SET tasks = 99, taken_at = now() + interval '1 hour'
                WHERE tenant_id = ?}, undef, $tenant_id);
is($ws->api($admin, POST => "/api/v1/projects/$p->{id}/tasks",
            json => { title => 'After a newer measure' })->{status}, 201,
   'a task written while a newer measure is kept');
my $out = `$Kanban::Test::ROOT/conf/kanbanctl figures 2>&1`;
is($?, 0, 'kanbanctl figures') or diag($out);
sleep 2.5;
is(figures()->{tasks}, 99, 'older measures, nginx\'s and kanbanctl\'s, '
                          . 'leave the newer one');

$catalog->do(q{UPDATE tenant_figures SET taken_at = now() - interval '1 hour'
                WHERE tenant_id = ?}, undef, $tenant_id);
is($ws->api($admin, POST => "/api/v1/projects/$p->{id}/tasks",
            json => { title => 'After an older one' })->{status}, 201,
   'another task');
shows_within(6, 'a newer measure replaces an older one',
             sub { $_[0]{tasks} == 13 });

$t->done_testing;
