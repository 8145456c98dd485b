#!/usr/bin/perl

# Webhooks' limits. Where they may go: without
# kanban_webhooks_allow_private, a URL to a loopback, private, link-local,
# shared, multicast or metadata address is refused when it is written, and
# a name or spelling that only resolves to one is refused where libcurl
# connects: the receiver never hears of it. A receiver that fails for the
# whole retry window (kanban_webhooks_window, shortened here) is disabled
# and the workspace's admins are notified; the others go on.

use strict;
use warnings;

use Socket qw(inet_ntoa);
use Sys::Hostname qw(hostname);
use Test::More;
use Time::HiRes qw(sleep time);
use Kanban::Test qw(made);
use Kanban::Receiver;

my $rcv = Kanban::Receiver->new;
my $port = $rcv->port;

sub wait_for {
    my ($cond, $timeout) = @_;
    my $deadline = time + $timeout;
    until ($cond->()) {
        return 0 if time > $deadline;
        sleep 0.1;
    }
    return 1;
}

# --- no private addresses ------------------------------------------------------

{
    my $t = Kanban::Test->new(http => <<"EOF")->run;
kanban_webhooks_timeout 1s;
kanban_webhooks_backoff 200ms;
kanban_webhooks_sweep 1s;
EOF
    my $ws = $t->workspace(prefix => 'ssrf');
    my $admin = $ws->admin;

    for my $url ("http://127.0.0.1:$port/ok/a", 'http://10.1.2.3/',
                 'http://172.16.0.1/', 'http://192.168.1.1/',
                 'http://169.254.169.254/latest/meta-data/',
                 'http://100.64.0.1/', 'http://0.0.0.0/', 'http://224.0.0.1/',
                 "http://[::1]:$port/ok/a", 'http://[::ffff:127.0.0.1]/',
                 'http://[fd00::1]/', 'http://[fe80::1]/',
                 "http://localhost:$port/ok/a", 'http://x.localhost/')
    {
        my $r = $ws->api($admin, POST => '/api/v1/webhooks',
                         json => { url => $url, events => ['*'] });
        ok($r->{status} == 422
           && grep({ $_->{code} eq 'forbidden_address' }
                   @{ $r->{json}{errors} // [] }),
           "$url is refused") or diag "$r->{status} $r->{body}";
    }

    my $ok = made($ws->api($admin, POST => '/api/v1/webhooks',
                           json => { url => 'https://example.com/hook',
                                     events => ['*'] }), 'webhook');
    ok($ok->{id}, 'a public name is fine');
    $ws->api($admin, DELETE => "/api/v1/webhooks/$ok->{id}");

    # spellings of loopback, and a name that resolves to it (this
    # machine's, in /etc/hosts): refused as curl connects, after its own
    # resolution
    my @names = ('127.1', '2130706433', '0x7f000001');
    my $me = hostname();
    my $addr = gethostbyname($me);
    if ($addr && inet_ntoa($addr) =~ /^127\./) {
        push @names, $me;
    } else {
        diag("$me does not resolve to loopback: not tried");
    }
    my @hooks;
    for my $host (@names) {
        push @hooks, made($ws->api($admin, POST => '/api/v1/webhooks',
            json => { url => "http://$host:$port/ok/ssrf", events => ['*'] }),
            $host);
    }
    for my $h (@hooks) {
        is($ws->api($admin, POST => "/api/v1/webhooks/$h->{id}/test")
           ->{status}, 202, "a ping to $h->{url}");
    }

    for my $h (@hooks) {
        my $d;
        wait_for(sub {
            ($d) = @{ $ws->api($admin, GET =>
                "/api/v1/webhooks/$h->{id}/deliveries")->{json}{items} };
            $d && $d->{attempts} > 0 && $d->{error} }, 10);
        like($d && $d->{error}, qr/not allowed/,
             "$h->{url}: refused where it connects");
        ok($d && !defined $d->{response_code}, '... no answer');
    }
    is(scalar(grep { $_->{path} eq '/ok/ssrf' } $rcv->requests), 0,
       'the receiver on loopback heard nothing');
    cmp_ok($t->metric('kanban_webhook_attempts_total', result => 'forbidden')
           // 0, '>=', scalar @hooks, '/metrics counts them');

    $ws->api($admin, DELETE => "/api/v1/webhooks/$_->{id}") for @hooks;
    $t->stop;
}

# --- disabled after failing for the whole window, admins notified ------------

{
    my $t = Kanban::Test->new(http => <<"EOF")->run;
kanban_webhooks_allow_private on;
kanban_webhooks_timeout 1s;
kanban_webhooks_backoff 200ms;
kanban_webhooks_window 3s;
kanban_webhooks_sweep 1s;
EOF
    my $ws = $t->workspace(prefix => 'down');
    my $admin = $ws->admin;
    my $other = $ws->member('Ada', 'admin');
    my $carl = $ws->member('Carl');

    my $bad = made($ws->api($admin, POST => '/api/v1/webhooks',
                            json => { url => $rcv->url('/fail/down'),
                                      events => ['project.created'] }),
                   'failing');
    my $good = made($ws->api($admin, POST => '/api/v1/webhooks',
                             json => { url => $rcv->url('/ok/up'),
                                       events => ['project.created'] }),
                    'working');
    made($ws->api($admin, POST => '/api/v1/projects',
                  json => { key => 'DOWN', name => 'Down' }), 'project');

    my $hook;
    wait_for(sub {
        $hook = $ws->api($admin, GET => "/api/v1/webhooks/$bad->{id}")->{json};
        !$hook->{enabled} }, 15);
    ok(!$hook->{enabled}, 'a receiver failing for the whole window: disabled');
    like($hook->{disabled_reason} // '', qr/failed/, '... and why');

    my ($d) = @{ $ws->api($admin, GET =>
        "/api/v1/webhooks/$bad->{id}/deliveries")->{json}{items} };
    is($d->{status}, 'failed', 'its delivery failed');
    cmp_ok($d->{attempts}, '>=', 3, "... after $d->{attempts} attempts");
    is($d->{response_code}, 500, '... the last answer 500');

    for my $who ([ $admin, 'the admin' ], [ $other, 'the other admin' ]) {
        my $n = $ws->api($who->[0], GET => '/api/v1/notifications')->{json};
        my ($note) = grep { $_->{kind} eq 'webhook_disabled' }
                     @{ $n->{items} // [] };
        ok($note, "$who->[1] is notified");
        is($note && $note->{data}{webhook_id}, $bad->{id}, '... of that one');
    }
    my $n = $ws->api($carl, GET => '/api/v1/notifications')->{json};
    ok(!grep({ $_->{kind} eq 'webhook_disabled' } @{ $n->{items} // [] }),
       'a contributor is not');

    ok($ws->api($admin, GET => "/api/v1/webhooks/$good->{id}")->{json}{enabled},
       'the working one stays enabled');
    is(scalar(grep { $_->{path} eq '/ok/up' } $rcv->requests), 1,
       '... and had its delivery');

    my $before = grep { $_->{path} eq '/fail/down' } $rcv->requests;
    made($ws->api($admin, POST => '/api/v1/projects',
                  json => { key => 'MORE', name => 'More' }), 'project');
    wait_for(sub { grep({ $_->{path} eq '/ok/up' } $rcv->requests) == 2 }, 5);
    is(scalar(grep { $_->{path} eq '/fail/down' } $rcv->requests), $before,
       'a disabled one gets nothing more');

    my $r = $ws->api($admin, PATCH => "/api/v1/webhooks/$bad->{id}",
                     json => { enabled => JSON::XS::true });
    ok($r->{json}{enabled} && !defined $r->{json}{disabled_reason}
       && !defined $r->{json}{failing_since}, 'an admin enables it again');

    $t->stop;
}

$rcv->stop;

Kanban::Test->done_testing;
