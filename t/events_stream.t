#!/usr/bin/perl

# The event stream, GET /api/v1/events: every type of API.md arrives with
# its id (the event log's, rising), its type and its data (what the write
# answered); notification.created reaches its person only; a contributor
# gets no one else's timesheet events, a project manager those of the
# people of their teams; ?project_id= keeps one project's; Last-Event-ID
# (or ?last_event_id=) resumes with exactly the events missed; an id the
# log no longer keeps, or never had, gets one reset event; another
# workspace's token gets nothing; /metrics counts streams and events.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep time);
use Kanban::Test qw(made problem_is);
use Kanban::Clock qw(today days_from);
use Kanban::SSE;

my $JSON = $Kanban::Test::JSON;

my $t = Kanban::Test->new->run;
my $ws = $t->workspace(prefix => 'sse');
my $slug = $ws->slug;
my $dbh = $ws->dbh;

sub api { $ws->api(@_) }

sub stream { Kanban::SSE->open($t, $slug, @_) }

# the log's ids after $after, in order
sub log_ids {
    my ($after, $where) = @_;
    return [ map { $_->[0] } @{ $dbh->selectall_arrayref(
        'SELECT id FROM events WHERE id > ? ' . ($where // '')
        . ' ORDER BY id', undef, $after) } ];
}

sub newest {
    my ($id) = $dbh->selectrow_array('SELECT coalesce(max(id), 0) FROM events');
    return $id;
}

my $admin = $ws->admin;
my $pam = $ws->member('Pam', 'project_manager');      # Carl's manager
my $carl = $ws->member('Carl');
my $dora = $ws->member('Dora');                         # in no team
my $alpha = $ws->team('Alpha', $pam, $carl);

# --- refusals ------------------------------------------------------------------

{
    my $s = stream(undef);
    my $r = $s->response;
    is($r->{status}, 401, 'no token: 401');
    like($r->{headers}{'www-authenticate'} // '', qr/^Bearer/,
         '... with a Bearer challenge');

    $r = stream('not.a.token')->response;
    is($r->{status}, 401, 'a bad token: 401');

    $r = stream($admin->{token}, last_event_id => 'abc')->response;
    problem_is({ %$r, headers => $r->{headers} }, 400, 'bad_request',
               'Last-Event-ID not a number: 400');

    $r = stream($admin->{token}, query => 'project_id=nope')->response;
    problem_is($r, 400, 'bad_request', 'project_id not a uuid: 400');

    my $post = $t->req(POST => '/api/v1/events', host => $slug,
                       headers => { Authorization => "Bearer $admin->{token}" });
    is($post->{status}, 405, 'POST: 405');
    like($post->{headers}{allow} // '', qr/GET/, '... Allow: GET');

    my $other = $t->workspace(prefix => 'sse');
    $r = stream($other->admin->{token})->response;
    is($r->{status}, 401, "another workspace's token on this host: 401");
}

# --- streams, one per reader ------------------------------------------------------------

my $sa = stream($admin->{token});
is($sa->status, 200, 'the admin\'s stream: 200');
like($sa->headers->{'content-type'} // '', qr{^text/event-stream},
     '... text/event-stream');
like($sa->headers->{'cache-control'} // '', qr/no-store/, '... not stored');
is($sa->headers->{'x-accel-buffering'}, 'no', '... nor buffered by a proxy');

my $sp = stream($pam->{token});
my $sc = stream($carl->{token});
my $sd = stream($dora->{token});
is_deeply([ map { $_->status } $sp, $sc, $sd ], [ 200, 200, 200 ],
          'Pam, Carl and Dora have theirs');

my $project = made(api($admin, POST => '/api/v1/projects',
                       json => { key => 'SSE', name => 'Streams',
                                 team_id => $alpha->{id} }), 'project');
my $other_project = made(api($admin, POST => '/api/v1/projects',
                             json => { key => 'OTH', name => 'Other' }),
                         'other project');
my $sf = stream($admin->{token}, query => "project_id=$project->{id}");
is($sf->status, 200, 'a stream of one project');

# each of them has seen the two projects made: the streams are live
for my $s ($sa, $sp, $sc, $sd) {
    $s->until(sub { ($_[0]{data}{id} // '') eq $other_project->{id} }, 5);
}
$sf->quiet(0.3);

my %col = map { $_->{category} => $_ }
          @{ api($admin, GET => "/api/v1/projects/$project->{id}/columns")
             ->{json}{items} };

# --- every type, with its data -------------------------------------------------------------

my $mark = newest();
my @writes;     # [type, data expected, project]

sub w {
    my ($type, $r, $want) = @_;
    die "$type: $r->{status} $r->{body}" if $r->{status} >= 300;
    push @writes, [ $type, $want // $r->{json} ];
    return $r->{json};
}

my $task = w('task.created', api($admin, POST =>
    "/api/v1/projects/$project->{id}/tasks",
    json => { title => 'Stream me', column_id => $col{todo}{id},
              assignee_ids => [ $carl->{id} ] }));
w('task.updated', api($admin, PATCH => "/api/v1/tasks/$task->{id}",
                      json => { priority => 'high' }));
w('task.moved', api($admin, PATCH => "/api/v1/tasks/$task->{id}/move",
                    json => { column_id => $col{in_progress}{id} }));
my $comment = w('comment.created', api($admin, POST =>
    "/api/v1/tasks/$task->{id}/comments",
    json => { body => 'Have a look, @' . (split /\@/, $dora->{email})[0] }));
w('milestone.updated', api($admin, POST =>
    "/api/v1/projects/$project->{id}/milestones",
    json => { name => 'Beta', due_date => days_from(today(), 30) }));
w('project.updated', api($admin, PATCH => "/api/v1/projects/$project->{id}",
                         json => { status => 'active' }));
my $gone = made(api($admin, POST => "/api/v1/projects/$project->{id}/tasks",
                    json => { title => 'Short-lived' }), 'task');
push @writes, [ 'task.created', $gone ];
my $r = api($admin, DELETE => "/api/v1/tasks/$gone->{id}");
w('task.deleted', $r, { id => $gone->{id} });
w('timesheet.submitted', api($carl, POST => '/api/v1/timesheets/entries',
    json => { date => '2026-11-16', minutes => 60, task_id => $task->{id} }))
    and pop @writes;                     # an entry makes no event
w('timesheet.submitted', api($carl, POST => '/api/v1/timesheets/weekly/submit',
                             json => { week => '2026-W47' }));
w('timesheet.approved', api($pam, POST => '/api/v1/timesheets/weekly/approve',
    json => { week => '2026-W47', user_id => $carl->{id} }));
my $link = made(api($admin, POST => '/api/v1/share-links',
                    json => { task_id => $task->{id} }), 'share link');
is($t->req(GET => "/s/$link->{code}", host => $slug)->{status}, 302,
   'a visit of a share link');

my @ev = $sa->until(sub { ($_[0]{event} // '') eq 'share_link.visited' }, 8);
my @notif = grep { $_->{event} eq 'notification.created' } @ev;
my @main = grep { $_->{event} ne 'notification.created' } @ev;
my $visit = pop @main;

is_deeply([ map { $_->{event} } @main ], [ map { $_->[0] } @writes ],
          'the admin gets every write\'s event, in order')
    or diag explain [ map { "$_->{id} $_->{event}" } @ev ];
my @bad;
for my $i (0 .. $#writes) {
    my $got = $main[$i] // {};
    push @bad, "$writes[$i][0]: " . $JSON->encode($got->{data} // {})
        unless $JSON->encode($got->{data} // {})
               eq $JSON->encode($writes[$i][1]);
}
is_deeply(\@bad, [], '... each with the data its write answered');
is_deeply($visit && $visit->{data}, { id => $link->{id}, visits => 1 },
          'share_link.visited: the link and its visits');
is_deeply([ map { $_->{id} } @ev ], log_ids($mark, 'AND readers IS NULL OR '
              . "(id > $mark AND admins)"),
          "... the ids are the log's, rising, none left out")
    or diag explain [ map { $_->{id} } @ev ];
ok(!@notif, 'no one else\'s notification reaches the admin')
    or diag explain \@notif;

my ($week_sub) = grep { $_->{event} eq 'timesheet.submitted' } @ev;
is($week_sub && $week_sub->{data}{user_id}, $carl->{id},
   'timesheet.submitted: Carl\'s week');
is($week_sub && $week_sub->{data}{status}, 'submitted', '... submitted');

# --- each reader's share -----------------------------------------------------------------

my @c = $sc->until(sub { ($_[0]{event} // '') eq 'share_link.visited' }, 5);
push @c, $sc->quiet(0.3);
my @d = $sd->until(sub { ($_[0]{event} // '') eq 'share_link.visited' }, 5);
push @d, $sd->quiet(0.3);
my @p = $sp->until(sub { ($_[0]{event} // '') eq 'share_link.visited' }, 5);
push @p, $sp->quiet(0.3);

my %kinds = (
    carl => [ map { $_->{data}{kind} } grep { $_->{event} eq 'notification.created' } @c ],
    dora => [ map { $_->{data}{kind} } grep { $_->{event} eq 'notification.created' } @d ],
    pam  => [ map { $_->{data}{kind} } grep { $_->{event} eq 'notification.created' } @p ],
);
is_deeply([ sort @{ $kinds{carl} } ], [ 'approved', 'assigned', 'commented' ],
          'Carl: his notifications (assigned, commented, approved)')
    or diag explain \%kinds;
is_deeply($kinds{dora}, [ 'mentioned' ], 'Dora: her mention only');
is_deeply($kinds{pam}, [], 'Pam: none of theirs');
my ($dn) = grep { $_->{event} eq 'notification.created' } @d;
is($dn && $dn->{data}{task}{id}, $task->{id}, '... about the task');

is_deeply([ map { $_->{event} } grep { $_->{event} =~ /^timesheet/ } @c ],
          [ 'timesheet.submitted', 'timesheet.approved' ],
          'Carl gets the events of his own week');
is_deeply([ map { $_->{event} } grep { $_->{event} =~ /^timesheet/ } @p ],
          [ 'timesheet.submitted', 'timesheet.approved' ],
          '... and so does Pam, who manages him');
is_deeply([ grep { $_->{event} =~ /^timesheet/ } @d ], [],
          'Dora, a contributor of no team of his, does not');
ok(!grep({ $_->{event} eq 'share_link.visited' } @d, @c),
   "neither contributor gets the admin's share link's visits");
ok(grep({ $_->{event} eq 'task.moved' } @d),
   '... both get the work everyone reads');

my @f = $sf->quiet(0.5);
ok(@f && !grep({ ($_->{data}{project_id} // $_->{data}{task}{project_id}
                  // $project->{id}) ne $project->{id}
                  || $_->{event} eq 'project.created' } @f),
   'project_id=: only that project\'s events')
    or diag explain [ map { "$_->{event} " . $JSON->encode($_->{data}) } @f ];
made(api($admin, POST => "/api/v1/projects/$other_project->{id}/tasks",
         json => { title => 'Elsewhere' }), 'task elsewhere');
my $here = made(api($admin, POST => "/api/v1/projects/$project->{id}/tasks",
                    json => { title => 'Here' }), 'task here');
my @f2 = $sf->until(sub { ($_[0]{data}{id} // '') eq $here->{id} }, 5);
is_deeply([ map { $_->{data}{title} } @f2 ], [ 'Here' ],
          '... another project\'s task is not among them');

# --- resuming -----------------------------------------------------------------------------------

{
    my @all = $sa->until(sub { ($_[0]{data}{id} // '') eq $here->{id} }, 5);
    my $last = $all[-1]{id};
    $sa->close;

    my @made = map {
        made(api($admin, POST => "/api/v1/projects/$project->{id}/tasks",
                 json => { title => "While away $_" }), "task $_")
    } 1 .. 5;

    my $back = stream($admin->{token}, last_event_id => $last);
    my @got = $back->next(5, 5);
    push @got, $back->quiet(0.3);
    is_deeply([ map { $_->{id} } @got ], log_ids($last),
              'Last-Event-ID: exactly the events missed, by id');
    is_deeply([ map { $_->{data}{title} } @got ],
              [ map { $_->{title} } @made ], '... the tasks made meanwhile');

    my $next = made(api($admin, POST => "/api/v1/projects/$project->{id}/tasks",
                        json => { title => 'Live again' }), 'task');
    my ($live) = $back->next(1, 5);
    is($live && $live->{data}{id}, $next->{id}, '... then live again');
    is($live && $live->{id}, $got[-1]{id} + 1, '... the next id');

    my $q = stream($admin->{token}, query => "last_event_id=$last");
    my @qgot = $q->next(6, 5);
    is_deeply([ map { $_->{id} } @qgot ], log_ids($last),
              '?last_event_id= resumes the same');

    # the resumed events are the very bytes the live stream sent
    my %live = map { $_->{id} => $_->{raw} } @got, $live;
    is_deeply([ map { $_->{raw} } @qgot ], [ map { $live{$_->{id}} } @qgot ],
              '... byte for byte the events sent live');

    my $now = stream($admin->{token}, last_event_id => newest());
    is_deeply([ $now->quiet(0.3) ], [], 'resuming at the newest: nothing');
    $sa = $back;
}

# --- too old, or never -------------------------------------------------------------------------

{
    my $newest = newest();
    my $s = stream($admin->{token}, last_event_id => $newest + 1000);
    my ($reset) = $s->next(1, 5);
    is($reset && $reset->{event}, 'reset', 'an id the log never had: reset');
    is($reset && $reset->{id}, $newest, '... its id the newest event');
    is_deeply($reset && $reset->{data}, { last_event_id => $newest },
              '... and says so');

    # the log forgets what is older than a day
    $dbh->do(q{UPDATE events SET created_at = now() - interval '2 days'
                WHERE id <= ?}, undef, $newest - 3);
    my ($n) = $dbh->selectrow_array(
        q{SELECT events_prune(interval '1 day')});
    ok($n > 0, "events_prune forgets what is older than a day ($n)");

    $s = stream($admin->{token}, last_event_id => $mark);
    my @got = $s->next(2, 5);
    is($got[0] && $got[0]{event}, 'reset', 'an id no longer kept: reset');
    is(scalar(@got), 1, '... alone: nothing is replayed');

    $s = stream($admin->{token}, last_event_id => $newest - 3);
    @got = $s->next(3, 5);
    is_deeply([ map { $_->{id} } @got ], log_ids($newest - 3),
              'the oldest kept id still resumes, without a reset');
}

# --- another workspace ---------------------------------------------------------------------------

{
    my $ows = $t->workspace(prefix => 'sse');
    my $os = Kanban::SSE->open($t, $ows->slug, $ows->admin->{token});
    is($os->status, 200, 'another workspace\'s stream');
    my $mine = made(api($admin, POST => "/api/v1/projects/$project->{id}/tasks",
                        json => { title => 'Mine' }), 'task');
    $sa->until(sub { ($_[0]{data}{id} // '') eq $mine->{id} }, 5);
    is_deeply([ $os->quiet(0.5) ], [], '... gets nothing of this one');

    my $hijack = Kanban::SSE->open($t, $ows->slug, $admin->{token});
    is($hijack->status, 401, "this workspace's token on the other's host: 401");
}

# --- metrics ----------------------------------------------------------------------------------------

cmp_ok($t->metric('kanban_events_subscribers') // 0, '>=', 5,
       '/metrics: kanban_events_subscribers');
cmp_ok($t->metric('kanban_events_delivered_total') // 0, '>=', 30,
       '/metrics: kanban_events_delivered_total');
is($t->metric('kanban_events_dropped_total'), 0,
   '/metrics: kanban_events_dropped_total, none');

$_->close for $sa, $sp, $sc, $sd, $sf;
ok(Kanban::Test::wait_until([], sub {
       ($t->metric('kanban_events_subscribers') // -1) == 0 }, 5),
   'streams closed by their clients leave the gauge')
    or diag $t->metric('kanban_events_subscribers');
ok(grep({ /event stream closed by the client/ }
        split /\n/, Kanban::Test::read_file($t->var . '/log/error.log')),
   '... streams its connection had taken over (the request freed once '
   . 'the stream started)');

Kanban::Test->done_testing;
