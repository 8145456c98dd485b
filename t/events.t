#!/usr/bin/perl

# Events after commit: each write publishes {id, type, data} to Redis
# channel kanban:events:<workspace>, where id is the write's activity_log
# row.  A subscriber, speaking RESP over the stack's unix socket, checks
# that a message comes after the write's response, with its row already
# committed; in the order of the writes; once each under a burst; never for
# a rejected write, a read or another workspace.  With Redis stopped (a
# private stack, so that no other file is disturbed) writes still succeed
# at once and the audit trail still has every change; once Redis is back,
# events flow again.

use strict;
use warnings;

use IO::Select;
use IO::Socket::UNIX;
use Errno qw(EAGAIN EINTR EWOULDBLOCK);
use Test::More;
use Time::HiRes qw(sleep time);
use Kanban::Test qw(made problem_is);

my $JSON = $Kanban::Test::JSON;
my $nobody = '00000000-0000-4000-8000-000000000000';

# --- a Redis subscriber, by hand ---------------------------------------------------

sub resp_command {
    return '*' . @_ . "\r\n" . join '', map { '$' . length($_) . "\r\n$_\r\n" } @_;
}

# One RESP value from $$buf at $pos: (value, next position), or () when
# the buffer does not hold all of it yet.
sub resp_parse {
    my ($buf, $pos) = @_;

    my $eol = index $$buf, "\r\n", $pos;
    return () if $eol < 0;

    my $type = substr $$buf, $pos, 1;
    my $line = substr $$buf, $pos + 1, $eol - $pos - 1;
    my $next = $eol + 2;

    return ($line, $next) if $type eq '+' || $type eq '-';
    return ($line + 0, $next) if $type eq ':';

    if ($type eq '$') {
        return (undef, $next) if $line < 0;
        return () if length($$buf) < $next + $line + 2;
        return (substr($$buf, $next, $line), $next + $line + 2);
    }

    if ($type eq '*') {
        my @a;
        for (1 .. $line) {
            my @v = resp_parse($buf, $next) or return ();
            push @a, $v[0];
            $next = $v[1];
        }
        return (\@a, $next);
    }

    die "not RESP: " . substr($$buf, $pos, 40);
}

# subscribe($socket_path, channel...): a subscriber whose messages
# collect in ->{queue} as {channel, event (decoded), raw, at}
sub subscribe {
    my ($path, @channels) = @_;

    my $sock = IO::Socket::UNIX->new(Peer => $path) or return;
    my $s = { sock => $sock, buf => '', queue => [], acks => 0 };
    syswrite $sock, resp_command('SUBSCRIBE', @channels);
    $sock->blocking(0);

    my $deadline = time + 5;
    while ($s->{acks} < @channels && time < $deadline) {
        sub_read($s, 0.05);
    }
    die "no SUBSCRIBE confirmation from $path" if $s->{acks} < @channels;

    return $s;
}

# Reads what has arrived (waiting up to $wait seconds for something).
sub sub_read {
    my ($s, $wait) = @_;

    return unless IO::Select->new($s->{sock})->can_read($wait // 0);

    while (1) {
        my $n = sysread $s->{sock}, my $data, 65536;
        last if !defined $n && ($! == EAGAIN || $! == EWOULDBLOCK
                                || $! == EINTR);
        if (!$n) {
            $s->{closed} = 1;
            last;
        }
        $s->{buf} .= $data;
    }

    while (my @v = resp_parse(\$s->{buf}, 0)) {
        substr($s->{buf}, 0, $v[1]) = '';
        my $m = $v[0];
        next unless ref $m eq 'ARRAY';
        if ($m->[0] eq 'subscribe') {
            $s->{acks}++;
        } elsif ($m->[0] eq 'message') {
            push @{ $s->{queue} }, {
                channel => $m->[1], raw => $m->[2], at => time,
                event => scalar eval { $JSON->decode($m->[2]) } };
        }
    }
}

# The next n messages (fewer when they do not come within $timeout).
sub next_events {
    my ($s, $n, $timeout) = @_;
    my $deadline = time + ($timeout // 5);
    while (@{ $s->{queue} } < $n && time < $deadline) {
        sub_read($s, 0.05);
    }
    return splice @{ $s->{queue} }, 0, $n;
}

# Whatever arrives within $wait seconds.
sub quiet_for {
    my ($s, $wait) = @_;
    my $deadline = time + $wait;
    sub_read($s, 0.05) while time < $deadline;
    return splice @{ $s->{queue} }, 0;
}

# Whether the bytes a client has read hold its whole response.
sub complete_response {
    my ($in) = @_;
    my ($head, $body) = split /\r\n\r\n/, $in, 2;
    return 0 unless defined $body && $head =~ m{^HTTP/1\.[01] \d{3}};
    return length($body) >= $1 if $head =~ /^Content-Length:\s*(\d+)/mi;
    return $body =~ /(?:^|\r\n)0\r\n\r\n\z/ if $head =~ /chunked/i;
    return 0;
}

# --- the workspace ---------------------------------------------------------------

my $t = Kanban::Test->new->run;
my $redis_sock = $t->stack->run . '/redis.sock';

my $ws = $t->workspace(prefix => 'events');
my $slug = $ws->slug;
my $dbh = $ws->dbh;

sub last_activity_id {
    my ($db) = @_;
    my ($id) = ($db // $dbh)->selectrow_array(
        'SELECT coalesce(max(id), 0) FROM activity_log');
    return $id;
}

sub activity_row {
    my ($id, $db) = @_;
    return ($db // $dbh)->selectrow_hashref(
        'SELECT id, entity_type, entity_id, action FROM activity_log
          WHERE id = ?', undef, $id);
}

my $at = $ws->admin->{token};
my $ct = $ws->member('Carl', 'contributor')->{token};

my $channel = "kanban:events:$slug";
my $sub = subscribe($redis_sock, $channel);
ok($sub, "a subscriber on $channel");

# --- project.created: id, type and data -----------------------------------------------

my $r = $ws->api($at, POST => '/api/v1/projects',
                 json => { key => 'EVT', name => 'Events' });
is($r->{status}, 201, 'create a project');
my $project = $r->{json};
my ($e) = next_events($sub, 1);
is($e->{channel}, $channel, "an event on the workspace's channel");
is($e->{event}{type}, 'project.created', '... project.created');
is_deeply($e->{event}{data}, $project, '... its data the response body');
my ($created_row) = $dbh->selectrow_array(
    q{SELECT id FROM activity_log WHERE entity_type = 'project'
       AND entity_id = ? AND action = 'created'}, undef, $project->{id});
ok(defined $created_row && ($e->{event}{id} // 0) == $created_row,
   '... its id the activity_log row of the change')
    or diag "event id $e->{event}{id}, row " . ($created_row // 'none');
like($e->{raw} // '', qr/^\{"id":\d+,/, '... a number, not a string');

my %col = map { $_->{category} => $_ }
          @{ $ws->api($at, GET => "/api/v1/projects/$project->{id}/columns")
             ->{json}{items} };

# --- a write and its event, watched together ------------------------------------------

# Sends a write and drives it and the subscriber at once.  When the first
# message arrives, notes whether the client had its whole response and
# looks up the message's activity row: a subscriber that reacts at once
# must find the change committed.
sub watched {
    my ($token, $method, $path, %o) = @_;

    my $c = $ws->send_api($token, $method => $path, %o);
    my ($event, $answered, $row, $entity);
    my $deadline = time + 5;

    while (time < $deadline && !($c->done && $event)) {
        my @socks = ($sub->{sock}, $c->done ? () : $c->{sock});
        my @ready = map { fileno $_ } IO::Select->new(@socks)->can_read(0.02);
        $c->step if !$c->done && grep { $_ == fileno $c->{sock} } @ready;
        next if $event || !grep { $_ == fileno $sub->{sock} } @ready;

        sub_read($sub, 0);
        next unless @{ $sub->{queue} };
        $event = shift @{ $sub->{queue} };
        $c->step unless $c->done;               # what has come by now
        $answered = complete_response($c->{in});
        $row = activity_row($event->{event}{id} // 0);
        $entity = $row && $dbh->selectrow_hashref(
            "SELECT * FROM $row->{entity_type}s WHERE id = ?", undef,
            $row->{entity_id});
    }

    return ($c->response, $event, $answered, $row, $entity);
}

my ($resp, $ev, $answered, $row, $entity) =
    watched($at, POST => "/api/v1/projects/$project->{id}/tasks",
            json => { title => 'Watched', column_id => $col{todo}{id} });
is($resp->{status}, 201, 'create a task: 201');
my $task = $resp->{json};
is($ev->{event}{type}, 'task.created', '... task.created');
is_deeply($ev->{event}{data}, $task, '... with the task as answered');
ok($answered, '... the message comes after the whole response');
ok($row && $row->{entity_type} eq 'task' && $row->{action} eq 'created'
   && $row->{entity_id} eq ($task->{id} // ''),
   "... its id is the task's creation row, committed when it arrives")
    or diag explain [ $ev, $row ];
is($entity && $entity->{title}, 'Watched',
   '... and so is the task itself');

($resp, $ev, $answered, $row, $entity) =
    watched($at, PATCH => "/api/v1/tasks/$task->{id}/move",
            json => { column_id => $col{in_progress}{id} });
is($resp->{status}, 200, 'move the task: 200');
is($ev->{event}{type}, 'task.moved', '... task.moved');
is_deeply($ev->{event}{data}, $resp->{json}, '... with the task as answered');
is($ev->{event}{data}{column_id}, $col{in_progress}{id}, '... in its new column');
ok($answered, '... the message comes after the whole response');
ok($row && $row->{action} eq 'moved' && $row->{entity_id} eq $task->{id},
   "... its id is the move's row, committed when it arrives")
    or diag explain [ $ev, $row ];
is($entity && $entity->{column_id}, $col{in_progress}{id},
   '... the task is in its new column when the message arrives');

# --- one event per write, in the order of the writes --------------------------------------

{
    my $mark = last_activity_id();
    my @writes;         # [type, response, entity type, entity id, action]
    my $w = sub {
        my ($type, $etype, $action, $method, $path, %o) = @_;
        my $r = $ws->api($at, $method => $path, %o);
        my $id = $r->{json} && $r->{json}{id};
        push @writes, [ $type, $r, $etype, $id, $action ];
        return $r;
    };

    my $t2 = $w->('task.created', 'task', 'created',
                  POST => "/api/v1/projects/$project->{id}/tasks",
                  json => { title => 'Second' })->{json};
    $w->('task.updated', 'task', 'updated',
         PATCH => "/api/v1/tasks/$t2->{id}", json => { priority => 'high' });
    $w->('task.moved', 'task', 'moved',
         PATCH => "/api/v1/tasks/$t2->{id}/move",
         json => { column_id => $col{done}{id} });
    $w->('comment.created', 'comment', 'created',
         POST => "/api/v1/tasks/$t2->{id}/comments",
         json => { body => 'done and dusted' });
    $w->('milestone.updated', 'milestone', 'created',
         POST => "/api/v1/projects/$project->{id}/milestones",
         json => { name => 'Beta', due_date => '2026-12-01' });
    $w->('project.updated', 'project', 'updated',
         PATCH => "/api/v1/projects/$project->{id}",
         json => { status => 'active' });
    $w->('task.moved', 'task', 'moved',
         PATCH => "/api/v1/tasks/$task->{id}/move",
         json => { column_id => $col{review}{id} });
    my $r = $ws->api($at, DELETE => "/api/v1/tasks/$t2->{id}");
    push @writes, [ 'task.deleted', $r, 'task', $t2->{id}, 'deleted' ];
    my $gone = made($ws->api($at, POST => '/api/v1/projects',
                             json => { key => 'GONE', name => 'Short-lived' }),
                    'project GONE');
    $r = $ws->api($at, DELETE => "/api/v1/projects/$gone->{id}");
    push @writes, [ 'project.deleted', $r, 'project', $gone->{id}, 'deleted' ];

    ok(!grep({ $_->[1]{status} >= 300 } @writes), 'nine writes succeed')
        or diag explain [ map { "$_->[1]{status} $_->[1]{body}" } @writes ];

    my @ev = next_events($sub, 10);     # GONE's creation among them
    @ev = grep { !($_->{event}{type} eq 'project.created'
                   && $_->{event}{data}{id} eq $gone->{id}) } @ev;
    is_deeply([ map { $_->{event}{type} } @ev ], [ map { $_->[0] } @writes ],
              '... their events in the order of the writes');
    my @ids = map { $_->{event}{id} // 0 } @ev;
    is_deeply(\@ids, [ sort { $a <=> $b } @ids ], '... ids rising');

    my @bad;
    for my $i (0 .. $#writes) {
        my ($type, $resp, $etype, $eid, $action) = @{ $writes[$i] };
        my $e = $ev[$i] // {};
        my $row = activity_row($e->{event}{id} // 0) // {};
        push @bad, "$type: row " . $JSON->encode($row)
            unless ($row->{entity_type} // '') eq $etype
                && ($row->{entity_id} // '') eq ($eid // '-')
                && ($row->{action} // '') eq $action
                && $row->{id} > $mark;
        my $want = $resp->{status} == 204 ? { id => $eid } : $resp->{json};
        push @bad, "$type: data " . $JSON->encode($e->{event}{data} // {})
            unless $JSON->encode($e->{event}{data} // {})
                   eq $JSON->encode($want // {});
    }
    is_deeply(\@bad, [], "... each with its write's activity id and data "
                         . '({id} for a delete)');
}

# --- a burst: each write's event once ------------------------------------------------------

{
    my @conns = map {
        $ws->send_api($at, POST => "/api/v1/projects/$project->{id}/tasks",
                      json => { title => "Burst $_" })
    } 1 .. 12;
    Kanban::Test::wait_all(\@conns, 10);
    my @made = map { $_->response } @conns;
    is(scalar(grep { $_->{status} == 201 } @made), 12,
       'twelve tasks created at once');
    my @ev = next_events($sub, 12);
    is_deeply([ sort map { $_->{event}{data}{id} // '' } @ev ],
              [ sort map { $_->{json}{id} // 'none' } @made ],
              '... an event for each, once');
    my %seen;
    my @wrong = grep {
        my $row = activity_row($_->{event}{id} // 0) // {};
        $seen{ $_->{event}{id} // 0 }++
            || ($row->{entity_id} // '') ne ($_->{event}{data}{id} // '-')
            || ($row->{action} // '') ne 'created'
    } @ev;
    is(scalar @wrong, 0, "... each with its own task's creation row")
        or diag explain \@wrong;
    is_deeply([ quiet_for($sub, 0.3) ], [], '... and nothing more');
}

# --- nothing for a rejected write, a read, or another workspace ---------------------------------

{
    my $ows = $t->workspace(prefix => 'events');
    my $other = $ows->slug;
    my $ot = $ows->admin->{token};
    my $osub = subscribe($redis_sock, "kanban:events:$other");
    my $mark = last_activity_id();

    my @rejected = (
        [ 422, POST => "/api/v1/projects/$project->{id}/tasks", $at,
          json => { title => '' } ],
        [ 403, PATCH => "/api/v1/tasks/$task->{id}", $ct,
          json => { title => 'Carl was here' } ],
        [ 403, PATCH => "/api/v1/tasks/$task->{id}/move", $ct,
          json => { column_id => $col{done}{id} } ],
        [ 409, PATCH => "/api/v1/tasks/$task->{id}/move", $at,
          json => { column_id => $col{done}{id}, version => 1 } ],
        [ 404, PATCH => "/api/v1/tasks/$nobody", $at,
          json => { title => 'x' } ],
        [ 404, DELETE => "/api/v1/tasks/$nobody", $at ],
        [ 422, POST => "/api/v1/tasks/$task->{id}/comments", $at,
          json => { body => '' } ],
        [ 403, POST => '/api/v1/projects', $ct,
          json => { key => 'NOPE', name => 'Not allowed' } ],
        [ 409, POST => '/api/v1/projects', $at,
          json => { key => 'EVT', name => 'Again' } ],
        [ 403, POST => "/api/v1/projects/$project->{id}/milestones", $ct,
          json => { name => 'Mine', due_date => '2026-12-01' } ],
        [ 401, POST => "/api/v1/projects/$project->{id}/tasks", undef,
          json => { title => 'anonymous' } ],
        [ 200, GET => "/api/v1/tasks/$task->{id}", $at ],
        [ 200, GET => "/api/v1/projects/$project->{id}/kanban", $ct ],
    );
    my @got = map {
        my ($want, $method, $path, $token, %o) = @$_;
        $ws->api($token, $method => $path, %o)->{status} . " $method $path";
    } @rejected;
    is_deeply(\@got, [ map { "$_->[0] $_->[1] $_->[2]" } @rejected ],
              'rejected writes and reads answer as they should');
    is(last_activity_id(), $mark, '... and change nothing');

    my $theirs = made($ows->api($ot, POST => '/api/v1/projects',
                                json => { key => 'OTHER', name => 'Theirs' }),
                      'their project');
    my $sentinel = made(
        $ws->api($at, POST => "/api/v1/projects/$project->{id}/tasks",
                 json => { title => 'Sentinel' }), 'sentinel');
    my ($next) = next_events($sub, 1);
    is($next && $next->{event}{data}{id}, $sentinel->{id},
       'the next event after them is the next write\'s: none for the '
       . 'rejected writes, the reads or the other workspace')
        or diag explain $next;
    my ($o) = next_events($osub, 1);
    is($o && $o->{event}{data}{id}, $theirs->{id},
       "the other workspace's write is on its own channel");
    is_deeply([ map { $_->{event}{type} } quiet_for($osub, 0.2) ], [],
              "... and none of this one's");
}

# --- share_link.visited: one event a link and batch of visits, after they are stored ---------

{
    my $link = made($ws->api($ct, POST => '/api/v1/share-links',
                             json => { task_id => $task->{id} }), 'share link');
    quiet_for($sub, 0.2);
    for (1 .. 3) {
        my $r = $ws->api(undef, GET => "/s/$link->{code}");
        die "visit: $r->{status}" unless $r->{status} == 302;
    }
    # each worker stores its visits every second: wait (a loaded machine
    # may take a few seconds) until an event counts all three. Two
    # workers' events may reach Redis in another order than their
    # commits': the latest is the one with the highest id, as a client
    # reads them.
    my @seen;
    for (1 .. 16) {
        push @seen, grep { ($_->{event}{type} // '') eq 'share_link.visited' }
                    quiet_for($sub, 0.5);
        @seen = sort { $a->{event}{id} <=> $b->{event}{id} } @seen;
        last if @seen && ($seen[-1]{event}{data}{visits} // 0) >= 3;
    }
    ok(@seen >= 1 && !grep({ $_->{event}{data}{id} ne $link->{id} } @seen),
       'visits of a share link: share_link.visited with the link\'s id')
        or diag explain \@seen;
    is($seen[-1] && $seen[-1]{event}{data}{visits}, 3,
       '... the link\'s visits so far');
    my $row = @seen && activity_row($seen[-1]{event}{id});
    ok($row && $row->{entity_type} eq 'share_link'
       && $row->{action} eq 'visited' && $row->{entity_id} eq $link->{id},
       '... its id the audit row of the visits');
}

# --- Redis away: writes go on, the audit trail keeps every change ------------------------------

{
    my $stack = Kanban::Test::Stack->private;
    my $pt = Kanban::Test->new(stack => $stack)->run;
    my $pws = $pt->workspace(prefix => 'events');
    my $ps = $pws->slug;
    my $pdb = $pws->dbh;
    my $ptok = $pws->admin->{token};
    my $p = sub { $pws->api($ptok, @_) };
    my $sock = $stack->run . '/redis.sock';

    my $proj = made($p->(POST => '/api/v1/projects',
                         json => { key => 'AWAY', name => 'Redis away' }),
                    'project AWAY');
    my %pc = map { $_->{category} => $_ }
             @{ $p->(GET => "/api/v1/projects/$proj->{id}/columns")
                ->{json}{items} };

    my $psub = subscribe($sock, "kanban:events:$ps");
    my $before = made($p->(POST => "/api/v1/projects/$proj->{id}/tasks",
                           json => { title => 'Before' }), 'task Before');
    my ($first) = next_events($psub, 1);
    is($first && $first->{event}{data}{id}, $before->{id},
       'a private stack: its events arrive');
    my $mark = last_activity_id($pdb);

    $stack->stop_redis;
    ok(!-S $sock, 'Redis is stopped');

    my (@w, @slow);
    my $timed = sub {
        my ($want, $etype, $action, $method, $path, %o) = @_;
        my $t0 = time;
        my $r = $p->($method, $path, %o);
        my $took = time - $t0;
        push @slow, sprintf('%s %s: %.2f s', $method, $path, $took)
            if $took > 1;
        push @w, [ $want, $r, $etype, $action ];
        return $r->{json};
    };
    my $tk = $timed->(201, 'task', 'created',
                      POST => "/api/v1/projects/$proj->{id}/tasks",
                      json => { title => 'While Redis is away' });
    $timed->(200, 'task', 'updated', PATCH => "/api/v1/tasks/$tk->{id}",
             json => { priority => 'urgent' });
    $timed->(200, 'task', 'moved', PATCH => "/api/v1/tasks/$tk->{id}/move",
             json => { column_id => $pc{in_progress}{id} });
    $timed->(201, 'comment', 'created',
             POST => "/api/v1/tasks/$tk->{id}/comments",
             json => { body => 'nobody hears this' });
    $timed->(201, 'milestone', 'created',
             POST => "/api/v1/projects/$proj->{id}/milestones",
             json => { name => 'Anyway', due_date => '2026-12-24' });
    $timed->(200, 'project', 'updated',
             PATCH => "/api/v1/projects/$proj->{id}",
             json => { status => 'active' });
    $timed->(201, 'task', 'created',
             POST => "/api/v1/projects/$proj->{id}/tasks",
             json => { title => 'Another while away' });

    is_deeply([ map { $_->[1]{status} } @w ], [ map { $_->[0] } @w ],
              'with Redis stopped, writes succeed (201/200)')
        or diag explain [ map { "$_->[1]{status} $_->[1]{body}" } @w ];
    is_deeply(\@slow, [], '... each within a second');
    is($p->(GET => "/api/v1/tasks/$tk->{id}")->{json}{column_id},
       $pc{in_progress}{id}, '... and took effect');

    my $rows = $pdb->selectall_arrayref(
        'SELECT id, entity_type, action FROM activity_log WHERE id > ?
          ORDER BY id', { Slice => {} }, $mark);
    is_deeply([ map { "$_->{entity_type} $_->{action}" } @$rows ],
              [ map { "$_->[2] $_->[3]" } @w ],
              '... and the audit trail has every change, in order');

    $stack->start;
    ok(-S $sock, 'Redis is back');

    # the module reconnects by itself: writes publish again
    my ($back, $back_task);
    my $deadline = time + 10;
    my $bsub;
    while (!$back && time < $deadline) {
        $bsub //= subscribe($sock, "kanban:events:$ps") or do {
            sleep 0.2;
            next;
        };
        $back_task = made($p->(POST => "/api/v1/projects/$proj->{id}/tasks",
                               json => { title => 'Back' }), 'task Back');
        ($back) = grep { ($_->{event}{data}{id} // '') eq $back_task->{id} }
                  next_events($bsub, 1, 0.5);
    }
    ok($back, 'once Redis is back, events flow again');
    my $brow = $back && activity_row($back->{event}{id}, $pdb);
    ok($brow && $brow->{entity_id} eq $back_task->{id}
       && $brow->{action} eq 'created', '... with their activity ids');
    my ($missed) = $pdb->selectrow_array(
        'SELECT count(*) FROM activity_log WHERE id > ? AND id < ?', undef,
        $first->{event}{id} // 0, $back ? $back->{event}{id} : 0);
    cmp_ok($missed, '>=', scalar @w,
           '... and the changes no subscriber heard of lie between the last '
           . 'event before and the first after, to replay');
}

Kanban::Test->done_testing;
