#!/usr/bin/perl

# Share links on the short host (kanban_share_short_host): every
# workspace's codes at /{code} and /s/{code} there, with every rule of
# /s/{code} kept (the redirect, the password form and its grant, expiry,
# revokes, visits counted, bots flagged); a task's link goes on to its
# workspace's /s/{code}; short_url and the QR code name the short host;
# an unknown code, on the short host or the platform's, is a real 404 and
# never the app's page.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep time);

use Kanban::Test qw(problem_is);

my $t = Kanban::Test->new(short_host => 'kbn.localhost')->run;
my $short = 'http://kbn.localhost:' . $t->port;

my $ws = $t->workspace(prefix => 'short');
my $other = $t->workspace(prefix => 'short2');
my $admin = $ws->admin;

sub link_for {
    my ($w, %body) = @_;
    my $r = $w->api($w->admin, POST => '/api/v1/share-links', json => \%body);
    die "share link: $r->{status} $r->{body}" unless $r->{status} == 201;
    return $r->{json};
}

# GET (or POST) a path on the short host, anonymously
sub on_short {
    my ($path, %o) = @_;
    my $method = delete $o{method} // 'GET';
    return $t->req($method => $path,
                   host_header => 'kbn.localhost:' . $t->port, %o);
}

sub rows {
    my ($w, $link) = @_;
    return scalar $w->dbh->selectrow_array(
        'SELECT count(*) FROM share_link_visits WHERE link_id = ?', undef,
        $link->{id});
}

sub settled {
    my ($w, $link, $want) = @_;
    my $deadline = time + 5;
    my $n;
    while (($n = rows($w, $link)) < $want && time < $deadline) {
        sleep 0.2;
    }
    return $n;
}

# --- short_url and the QR code -----------------------------------------------

my $url_link = link_for($ws, url => 'https://example.com/a');
is($url_link->{short_url}, "$short/$url_link->{code}",
   'short_url names the short host');
my $got = $ws->api($admin, GET => "/api/v1/share-links/$url_link->{id}");
is($got->{json}{short_url}, $url_link->{short_url}, '... read back the same');
my ($listed) = grep { $_->{id} eq $url_link->{id} }
               @{ $ws->api($admin, GET => '/api/v1/share-links')->{json}{items} };
is($listed->{short_url}, $url_link->{short_url}, '... and in the list');
my $mine = $ws->api($admin, GET => "/api/v1/users/$admin->{id}/export");
my ($exported) = grep { $_->{id} eq $url_link->{id} }
                 @{ $mine->{json}{share_links} // [] };
is($exported->{short_url}, $url_link->{short_url},
   '... and in its maker\'s GDPR export');
my $qr = $ws->api($admin, GET => "/api/v1/share-links/$url_link->{id}/qr.svg");
is($qr->{status}, 200, 'the QR code: 200');
like($qr->{headers}{'content-type'} // '', qr{^image/svg\+xml}, '... an SVG');

# --- the redirect ------------------------------------------------------------

for my $path ("/$url_link->{code}", "/s/$url_link->{code}") {
    my $r = on_short($path);
    is($r->{status}, 302, "$path on the short host: 302");
    is($r->{headers}{location}, 'https://example.com/a', '... to the URL');
    is($r->{headers}{'cache-control'}, 'private, no-store', '... not cached');
}

# another workspace's code, on the same short host
my $theirs = link_for($other, url => 'https://example.org/theirs');
my $r = on_short("/$theirs->{code}");
is($r->{status}, 302, "another workspace's code: 302");
is($r->{headers}{location}, 'https://example.org/theirs', '... to its URL');

# --- visits counted, bots flagged --------------------------------------------

my $counted = link_for($ws, url => 'https://example.com/counted');
is(on_short("/$counted->{code}")->{status}, 302, 'a visit');
is(on_short("/$counted->{code}", headers => {
       'User-Agent' => 'Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)',
   })->{status}, 302, 'a crawler\'s visit');
is(settled($ws, $counted, 2), 2, 'both stored in the workspace');
is_deeply($ws->dbh->selectcol_arrayref(
              'SELECT bot FROM share_link_visits WHERE link_id = ?
                ORDER BY bot', undef, $counted->{id}), [0, 1],
          '... the crawler flagged');

my $twice = link_for($ws, url => 'https://example.com/twice',
                     max_visits => 2);
is(on_short("/$twice->{code}")->{status}, 302, 'max_visits 2: first visit');
is(on_short("/s/$twice->{code}")->{status}, 302, '... second');
is(on_short("/$twice->{code}")->{status}, 410, '... the third: 410');
is($ws->api($admin, GET => "/api/v1/share-links/$twice->{id}")
       ->{json}{visits}, 2, '... the link shows 2 visits');

# --- expiry and revokes ------------------------------------------------------

my $soon = link_for($ws, url => 'https://example.com/soon',
                    expires_in_seconds => 1);
is(on_short("/$soon->{code}")->{status}, 302, 'before its expiry: 302');
sleep 2.2;                                   # expiry is judged in whole seconds
is(on_short("/$soon->{code}")->{status}, 410, 'after it: 410');

my $revoked = link_for($ws, url => 'https://example.com/revoked');
is(on_short("/$revoked->{code}")->{status}, 302, 'before the revoke: 302');
is($ws->api($admin, DELETE => "/api/v1/share-links/$revoked->{id}")
       ->{status}, 204, 'revoked');
sleep 2.5;                                   # the share cache's ttl
is(on_short("/$revoked->{code}")->{status}, 410, 'after it: 410');

# --- the password ------------------------------------------------------------

my $lock = link_for($ws, url => 'https://example.com/secret',
                    password => 'open sesame');
$r = on_short("/$lock->{code}");
is($r->{status}, 401, 'a protected link: 401');
like($r->{body}, qr{<form[^>]*\baction="/s/$lock->{code}"},
     '... a form that posts to the link on this host');
problem_is(on_short("/$lock->{code}", headers => {
               Accept => 'application/json' }),
           401, 'unauthorized', '... a problem for JSON');
my $form = { 'Content-Type' => 'application/x-www-form-urlencoded' };
is(on_short("/s/$lock->{code}", method => 'POST',
            body => 'password=wrong+one', headers => $form)->{status}, 401,
   'a wrong password: 401');
$r = on_short("/s/$lock->{code}", method => 'POST',
              body => 'password=open+sesame', headers => $form);
is($r->{status}, 302, 'the right one: 302');
my ($grant) = map { /^([^;]+)/ }
              grep { /^kanban_grant_\Q$lock->{code}\E=/ }
              @{ $r->{header_list}{'set-cookie'} // [] };
ok($grant, '... with its grant cookie');
$r = on_short("/$lock->{code}", headers => { Cookie => $grant // '' });
is($r->{status}, 302, 'with the grant: 302');
is($r->{headers}{location}, 'https://example.com/secret', '... to the URL');

# --- a task's link -----------------------------------------------------------

my $pid = $ws->api($admin, POST => '/api/v1/projects',
                   json => { key => 'SHO', name => 'Short' })->{json}{id};
my $task = $ws->api($admin, POST => "/api/v1/projects/$pid/tasks",
                    json => { title => 'Shared task' })->{json};
my $task_link = link_for($ws, task_id => $task->{id});
$r = on_short("/$task_link->{code}");
is($r->{status}, 302, "a task's link on the short host: 302");
my $home = 'http://' . $ws->slug . '.localhost:' . $t->port;
is($r->{headers}{location}, "$home/s/$task_link->{code}",
   '... on to its workspace\'s /s/{code}');
$r = $t->req(GET => "/s/$task_link->{code}", host => $ws->slug);
is($r->{status}, 302, '... which sends the visitor to the page');
like($r->{headers}{location} // '', qr{/shared/$task_link->{code}$},
     '... /shared/{code}');

# --- unknown codes -----------------------------------------------------------

for my $path ('/AAAAAAAAAA', '/s/AAAAAAAAAA', '/not-a-code!', '/s/') {
    $r = on_short($path);
    is($r->{status}, 404, "$path on the short host: 404");
    unlike($r->{body}, qr/<div id="root"/, '... not the app\'s page');
}
$r = on_short('/AAAAAAAAAA', headers => { Accept => 'application/json' });
problem_is($r, 404, 'not_found', 'an unknown code as JSON: a 404 problem');

$r = $t->req(GET => '/s/AAAAAAAAAA');
is($r->{status}, 404, 'an unknown code on the platform host: 404');
unlike($r->{body}, qr/<div id="root"/, '... not the app\'s page');
$r = $t->req(GET => "/s/$url_link->{code}");
is($r->{status}, 302, 'a known code on the platform host: 302');

$t->done_testing;
