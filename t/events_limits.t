#!/usr/bin/perl

# The event stream's bounds: a client that does not read is dropped once
# more than kanban_events' buffer waits for it (and counted), while the
# others go on; idle streams get heartbeat comments; a stream ends when
# its access token expires; opening a stream counts against the rate
# limit, its events do not; a reload and a quit end streams cleanly (the
# last chunk), and the client resumes on the new workers.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep time);
use Kanban::Test qw(made problem_is);
use Kanban::SSE;

# --- a slow client, and heartbeats -------------------------------------------------------

{
    my $port = Kanban::Test::free_port();
    my $t = Kanban::Test->new(http => <<"EOF")->run;
    # small socket buffers, a small cap: a client that does not read is
    # dropped after a few events
    server {
        listen $port sndbuf=4k;
        server_name ~^(?<tenant>[a-z0-9-]+)\\.localhost\$;
        kanban_tenant \$tenant;
        location = /api/v1/events {
            kanban_jwt on;
            kanban_events heartbeat=1s buffer=16k;
            chunked_transfer_encoding off;
        }
    }
EOF
    my $ws = $t->workspace(prefix => 'ssel');
    my $at = $ws->admin->{token};
    my $project = made($ws->api($at, POST => '/api/v1/projects',
                                json => { key => 'SLOW', name => 'Slow' }),
                       'project');

    my $slow = Kanban::SSE->open($port, $ws->slug, $at, rcvbuf => 2048);
    my $good = Kanban::SSE->open($port, $ws->slug, $at);
    is_deeply([ $slow->status, $good->status ], [ 200, 200 ],
              'two streams: one will not read');

    my $quiet = Kanban::SSE->open($port, $ws->slug, $at);
    $quiet->status;
    sleep 2.5;
    $quiet->quiet(0.1);
    cmp_ok($quiet->comments, '>=', 1, 'an idle stream gets heartbeats');

    # the good client reads as the events come; the slow one never
    my $text = 'x' x 3000;
    my @got;
    my @made = map {
        my $task = made($ws->api($at, POST =>
                                     "/api/v1/projects/$project->{id}/tasks",
                                 json => { title => "Big $_",
                                           description => $text }),
                        "task $_");
        push @got, $good->quiet(0.02);
        $task;
    } 1 .. 40;
    push @got, $good->next(40 - @got, 10);
    is(scalar @got, 40, 'the reading client gets all 40 events (3 KB each)');

    ok(Kanban::Test::wait_until([], sub {
           ($t->metric('kanban_events_dropped_total') // 0) >= 1 }, 5),
       'the one that does not read is dropped: kanban_events_dropped_total');
    ok($slow->wait_closed(5), '... its connection closed');
    my @had = $slow->quiet(0.2);
    ok(@had < 40, '... after ' . scalar(@had) . ' of the 40 events');
    is($slow->ended, undef, '... with a reset, not a clean end (what it '
                            . 'had not read is lost to it)');
    ok(!$good->eof, '... while the other goes on');

    # it resumes after the last event it read (none: the one before the 40)
    my $again = Kanban::SSE->open($port, $ws->slug, $at,
                                  last_event_id => @had ? $had[-1]{id}
                                                        : $got[0]{id} - 1);
    my @rest = $again->next(40, 10);
    is_deeply([ map { $_->{data}{title} } @had, @rest ],
              [ map { $_->{title} } @made[0 .. $#made] ],
              '... and resumes with Last-Event-ID: the rest, none twice');
    ok(grep({ /event stream dropped: \d+ bytes unread/ }
            split /\n/, Kanban::Test::read_file($t->var . '/log/error.log')),
       '... the drop logged');

    # a replay waits for its client, and a quitting worker still ends it
    my $stuck = Kanban::SSE->open($port, $ws->slug, $at, rcvbuf => 2048,
                                  last_event_id => $got[0]{id} - 1);
    is($stuck->status, 200, 'a client that resumes and does not read');
    sleep 1;
    my $t0 = time;
    $t->stop;
    cmp_ok(time - $t0, '<', 5, '... does not keep nginx from quitting');
}

# --- an expiring token -----------------------------------------------------------------------

{
    my $t = Kanban::Test->new(replace => { kanban_jwt_ttl => '3s' })->run;
    my $ws = $t->workspace(prefix => 'ssel');
    my $token = $ws->login('admin@' . $ws->slug . '.example')->{token};
    my $t0 = time;
    my $s = Kanban::SSE->open($t, $ws->slug, $token);
    is($s->status, 200, 'a stream with a token of 3 seconds');
    ok($s->wait_closed(8), '... ends');
    my $took = time - $t0;
    ok($took > 1.5 && $took < 5, sprintf('... when the token expires (%.1f s)',
                                         $took));
    ok($s->ended, '... cleanly, with the last chunk');
    my $r = Kanban::SSE->open($t, $ws->slug, $token)->response;
    problem_is($r, 401, 'unauthorized',
               '... and the expired token opens none again (within the '
               . 'leeway other calls allow it)');
    $t->stop;
}

# --- the rate limit counts streams opened, not events ------------------------------------------

{
    # a zone of 5 a minute of its own (the shipped configuration applies
    # zone=api the same way), local: other files' requests do not count
    my $port = Kanban::Test::free_port();
    my $t = Kanban::Test->new(http => <<"EOF")->run;
    kanban_limit_zone zone=streams:1m rate=5r/m;
    server {
        listen $port;
        server_name ~^(?<tenant>[a-z0-9-]+)\\.localhost\$;
        kanban_tenant \$tenant;
        location = /api/v1/events {
            kanban_jwt on;
            kanban_limit zone=streams;
            kanban_events;
            error_page 400 404 405 408 413 414 500 502 503 504 \@problem;
        }
        location \@problem { kanban_problem; }
    }
EOF
    my $ws = $t->workspace(prefix => 'ssel');
    my $pam = $ws->member('Pam', 'project_manager');
    my $carl = $ws->member('Carl');
    my $project = made($ws->api($pam, POST => '/api/v1/projects',
                                json => { key => 'RATE', name => 'Rate' }),
                       'project');

    my @s = map { Kanban::SSE->open($port, $ws->slug, $carl->{token}) } 1 .. 5;
    is_deeply([ map { $_->status } @s ], [ (200) x 5 ],
              'five streams of Carl\'s (the limit is 5 a minute)');
    is($s[-1]->headers->{'ratelimit-remaining'}, 0,
       '... the fifth leaves none (RateLimit-Remaining)');
    my $r = Kanban::SSE->open($port, $ws->slug, $carl->{token})->response;
    problem_is($r, 429, 'rate_limited', 'a sixth: 429');
    ok($r->{headers}{'retry-after'}, '... with Retry-After');
    is(Kanban::SSE->open($port, $ws->slug, $pam->{token})->status, 200,
       '... Pam\'s own are not Carl\'s');

    my @made = map {
        made($ws->api($pam, POST => "/api/v1/projects/$project->{id}/tasks",
                      json => { title => "Rate $_" }), "task $_")
    } 1 .. 8;
    my @n = map { scalar(my @e = $_->next(8, 5)) } @s;
    is_deeply(\@n, [ (8) x 5 ],
              '... 8 events reach all five: events do not count');
    ok(!grep({ $_->eof } @s), '... and none of them is closed');
    $t->stop;
}

# --- reload and quit -----------------------------------------------------------------------------

{
    my $t = Kanban::Test->new->run;
    my $ws = $t->workspace(prefix => 'ssel');
    my $at = $ws->admin->{token};
    my $project = made($ws->api($at, POST => '/api/v1/projects',
                                json => { key => 'REL', name => 'Reload' }),
                       'project');
    my $s = Kanban::SSE->open($t, $ws->slug, $at);
    is($s->status, 200, 'a stream');
    sleep 0.3;
    my $a = made($ws->api($at, POST => "/api/v1/projects/$project->{id}/tasks",
                          json => { title => 'Before reload' }), 'task');
    my ($e) = $s->next(1, 5);

    my $t0 = time;
    my ($rc, $out) = $t->_nginx('-s', 'reload');
    is($rc, 0, 'nginx -s reload') or diag $out;
    ok($s->wait_closed(5), '... ends the stream');
    ok($s->ended, '... cleanly, with the last chunk');
    cmp_ok(time - $t0, '<', 3, '... within a few seconds');

    my $b = made($ws->api($at, POST => "/api/v1/projects/$project->{id}/tasks",
                          json => { title => 'After reload' }), 'task');
    my $again = Kanban::SSE->open($t, $ws->slug, $at,
                                  last_event_id => $e->{id});
    my ($next) = $again->next(1, 5);
    is($next && $next->{data}{id}, $b->{id},
       '... the client resumes on the new workers');

    $t0 = time;
    $t->stop;
    ok($again->wait_closed(5), 'nginx -s quit ends the streams too');
    cmp_ok(time - $t0, '<', 5, '... and nginx stops within seconds');
}

Kanban::Test->done_testing;
