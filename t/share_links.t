#!/usr/bin/perl

# Share links as their makers and their visitors see them: creating one for
# a task, a project or a URL (and every way of getting that wrong); who sees
# and revokes which links, and nothing across workspaces; the redirect and
# each of its refusals (unknown, malformed, revoked, target deleted,
# expired to the second); the password form, its grant cookie and the
# limit on wrong passwords; the public JSON of a shared task or project;
# the QR code.

use strict;
use warnings;

use Digest::SHA qw(hmac_sha256_hex);
use IO::Socket::IP;
use POSIX qw(strftime);
use Test::More;
use Time::HiRes qw(sleep time);
use XML::Parser;

use Kanban::Test qw(made problem_is error_for);

my $t = Kanban::Test->new->run;

my $ws = $t->workspace(prefix => 'share');
my $slug = $ws->slug;
my $dbh = $ws->dbh;
my $admin = $ws->admin;
my $pam = $ws->member('Pam', 'project_manager');
my $pete = $ws->member('Pete', 'project_manager');
my $ann = $ws->member('Ann');
my $bob = $ws->member('Bob');
my $nobody = '00000000-0000-4000-8000-000000000000';

my $team = $ws->team('Red', $pam, $ann);
my $other_team = $ws->team('Blue', $pete, $bob);

sub create {
    my ($who, %body) = @_;
    return $ws->api($who, POST => '/api/v1/share-links', json => \%body);
}

sub link_for {
    my ($who, %body) = @_;
    return made(create($who, %body), 'share link');
}

# GET (or POST) /s/CODE as an anonymous visitor
sub visit {
    my ($code, %o) = @_;
    my $method = delete $o{method} // 'GET';
    return $t->req($method => "/s/$code", host => delete $o{host} // $slug,
                   %o);
}

sub location_is {
    my ($r, $want, $name) = @_;
    my $loc = $r->{headers}{location} // '';
    $loc =~ s{^https?://[^/]+}{} if $want =~ m{^/};
    is($loc, $want, $name);
}

# a request from another loopback address: another client
sub from {
    my ($local, $method, $path, %o) = @_;
    my $s = IO::Socket::IP->new(PeerHost => '127.0.0.1',
                                PeerPort => $t->port, LocalHost => $local,
                                Timeout => 10)
        or die "connect from $local: $@";
    print $s $t->request_text($method, $path, host => $slug, %o);
    local $/;
    my $in = <$s>;
    return bless({ in => $in // '', done => 1 }, 'Kanban::Test::Conn')
        ->response;
}

my $project = made($ws->api($admin, POST => '/api/v1/projects', json => {
    key => 'SHR', name => 'Shared things', team_id => $team->{id},
    description => 'Things we show to partners' }), 'project');
my $blue = made($ws->api($admin, POST => '/api/v1/projects', json => {
    key => 'BLU', name => 'Blue things', team_id => $other_team->{id} }),
    'project');

sub task {
    my ($p, %f) = @_;
    return made($ws->api($admin, POST => "/api/v1/projects/$p->{id}/tasks",
                         json => { title => 'A task', %f }), 'task');
}

my $task = task($project, title => 'Patch the VPN',
                description => 'Roll the new firmware out.',
                assignee_ids => [ $ann->{id} ]);
my $blue_task = task($blue, title => 'Paint it blue');


###########################################################################
# creating links

my @fields = qw(code created_at created_by expires_at has_password id
                max_visits short_url target_id target_type url visits);

my $r = create($ann, task_id => $task->{id});
is($r->{status}, 201, 'a link for a task: 201');
my $tl = $r->{json};
is($r->{headers}{location}, "/api/v1/share-links/$tl->{id}",
   'with the Location of the new link');
ok(!grep({ !exists $tl->{$_} } @fields), 'with every documented field')
    or diag("missing: @{[ grep { !exists $tl->{$_} } @fields ]}");
is($tl->{target_type}, 'task', 'target_type task');
is($tl->{target_id}, $task->{id}, 'target_id the task');
is($tl->{url}, undef, 'no url');
is($tl->{short_url}, "http://$slug.localhost:" . $t->port . "/s/$tl->{code}",
   'short_url on the workspace host');
is($tl->{visits}, 0, 'no visits yet');
is($tl->{has_password}, JSON::XS::false, 'has_password false');
is($tl->{created_by}, $ann->{id}, 'created_by the maker');
is($tl->{expires_at}, undef, 'no expiry');
is($tl->{max_visits}, undef, 'no visit limit');

$r = $ws->api($ann, GET => $r->{headers}{location});
is($r->{status}, 200, 'the Location reads back');
is_deeply($r->{json}, $tl, 'as the same link');

my $pl = link_for($admin, project_id => $project->{id}, max_visits => 3);
is($pl->{target_type}, 'project', 'a link for a project');
is($pl->{target_id}, $project->{id}, 'target_id the project');
is($pl->{max_visits}, 3, 'max_visits kept');

$r = create($ann, url => 'https://example.com/report?q=1&x=%20#part',
            password => 'open sesame', expires_in_seconds => 3600);
is($r->{status}, 201, 'a link for a URL with a password and an expiry');
my $ul = $r->{json};
is($ul->{target_type}, 'url', 'target_type url');
is($ul->{url}, 'https://example.com/report?q=1&x=%20#part',
   'the URL as given');
is($ul->{target_id}, undef, 'no target_id');
is($ul->{has_password}, JSON::XS::true, 'has_password true');
my $want_exp = time + 3600;
ok($ul->{expires_at} && abs(iso_epoch($ul->{expires_at}) - $want_exp) < 5,
   'expires_at an hour from now') or diag($ul->{expires_at});

sub iso_epoch {
    my ($iso) = @_;
    my ($y, $mo, $d, $h, $mi, $s, $frac, $zone) = $iso =~
        /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$/
        or return;
    require Time::Local;
    my $e = Time::Local::timegm($s, $mi, $h, $d, $mo - 1, $y) + ($frac // 0);
    if ($zone ne 'Z') {
        my ($sign, $zh, $zm) = $zone =~ /^([+-])(\d\d):(\d\d)$/;
        $e -= ($sign eq '-' ? -1 : 1) * ($zh * 3600 + $zm * 60);
    }
    return $e;
}

# The password is nowhere to be read again: not in any answer about the
# link, nor in its audit trail.
my @answers = (
    $r,
    $ws->api($ann, GET => "/api/v1/share-links/$ul->{id}"),
    $ws->api($ann, GET => '/api/v1/share-links'),
    $ws->api($admin, GET => '/api/v1/share-links?limit=200'),
    $ws->api($ann, GET => "/api/v1/share-links/$ul->{id}/analytics"),
);
my @leaks = grep { $_->{body} =~ /argon2|password_hash|open sesame/ }
            @answers;
ok(!@leaks, 'no password nor its hash in any answer')
    or diag($leaks[0]{body});
my ($audit) = $dbh->selectrow_array(
    "SELECT count(*) FROM activity_log WHERE entity_id = ?
        AND (new_values::text ~ 'argon2|password_hash'
             OR old_values::text ~ 'argon2|password_hash')",
    undef, $ul->{id});
is($audit, 0, 'nor in the activity log');

# exactly one target
problem_is(create($ann), 422, 'validation_failed', 'no target: 422');
problem_is(create($ann, task_id => $task->{id}, url => 'https://a.example/'),
           422, 'validation_failed', 'a task and a URL: 422');
problem_is(create($ann, task_id => $task->{id},
                  project_id => $project->{id}),
           422, 'validation_failed', 'a task and a project: 422');
problem_is(create($ann, task_id => $nobody), 422, 'validation_failed',
           'an unknown task: 422');
problem_is(create($ann, project_id => $nobody), 422, 'validation_failed',
           'an unknown project: 422');
problem_is(create($ann, task_id => 'not-a-uuid'), 422, 'validation_failed',
           'a task id that is no UUID: 422');

# URLs
for my $bad ('ftp://files.example/x', 'javascript:alert(1)',
             'JavaScript://example.com/%0aalert(1)',
             'data:text/html,<script>alert(1)</script>',
             '/relative/path', 'example.com/no-scheme', '//example.com/x',
             'http://', 'http:///path', 'https://exa mple.com/',
             'https://example.com/a b', "https://example.com/\r\nX-A: b",
             "https://example.com/\n", "https://example.com/\t",
             "https://example.com/\x00", "https://example.com/\x7f",
             "https://example.com/\x1b[31m",
             'http://user@example.com/', 'http://user:pw@example.com/',
             'https://example.com@evil.example/',
             'https://example.com/' . ('a' x 2100), '')
{
    my $shown = $bad =~ s/([^\x21-\x7e])/sprintf('\\x%02x', ord $1)/ger;
    $shown = substr($shown, 0, 40) . '...' if length $shown > 43;
    problem_is(create($ann, url => $bad), 422, 'validation_failed',
               "url '$shown': 422");
}

for my $good ('http://example.com', 'https://example.com:8443/a/b?c=d#e',
              'https://sub.example.co.uk/path/%E2%9C%93',
              'http://127.0.0.1:8080/x')
{
    is(create($ann, url => $good)->{status}, 201, "url '$good': 201");
}

# expiry and limits
my $past = strftime('%Y-%m-%dT%H:%M:%SZ', gmtime(time - 60));
my $future = strftime('%Y-%m-%dT%H:%M:%SZ', gmtime(time + 86400));
problem_is(create($ann, url => 'https://a.example/', expires_at => $past),
           422, 'validation_failed', 'expires_at in the past: 422');
problem_is(create($ann, url => 'https://a.example/', expires_at => $future,
                  expires_in_seconds => 60),
           422, 'validation_failed',
           'both expires_at and expires_in_seconds: 422');
problem_is(create($ann, url => 'https://a.example/',
                  expires_at => 'next tuesday'),
           422, 'validation_failed', 'expires_at that is no time: 422');
problem_is(create($ann, url => 'https://a.example/',
                  expires_at => 'tomorrow'),
           422, 'validation_failed',
           "expires_at 'tomorrow' (no RFC 3339 time): 422");
problem_is(create($ann, url => 'https://a.example/', expires_in_seconds => 0),
           422, 'validation_failed', 'expires_in_seconds 0: 422');
problem_is(create($ann, url => 'https://a.example/',
                  expires_in_seconds => -5),
           422, 'validation_failed', 'expires_in_seconds negative: 422');
problem_is(create($ann, url => 'https://a.example/',
                  expires_in_seconds => '60'),
           422, 'validation_failed', 'expires_in_seconds a string: 422');
problem_is(create($ann, url => 'https://a.example/', max_visits => 0),
           422, 'validation_failed', 'max_visits 0: 422');
problem_is(create($ann, url => 'https://a.example/', password => ''),
           422, 'validation_failed', 'an empty password: 422');

$r = create($ann, url => 'https://a.example/', title => 'Look');
problem_is($r, 422, 'validation_failed', 'an unknown field: 422');
ok(error_for($r, 'title'), 'naming the field');

$r = $ws->api(undef, POST => '/api/v1/share-links',
              json => { url => 'https://a.example/' });
problem_is($r, 401, 'unauthorized', 'without a token: 401');
problem_is($ws->api(undef, GET => '/api/v1/share-links'), 401,
           'unauthorized', 'the list without a token: 401');


###########################################################################
# who sees which links

my $bl = link_for($bob, task_id => $blue_task->{id});
my $bobs_red = link_for($bob, project_id => $project->{id});

sub ids_of {
    my ($who) = @_;
    my $r = $ws->api($who, GET => '/api/v1/share-links?limit=200');
    die "list: $r->{status} $r->{body}" unless $r->{status} == 200;
    return { map { $_->{id} => 1 } @{ $r->{json}{items} } };
}

my $seen = ids_of($ann);
ok($seen->{ $tl->{id} } && $seen->{ $ul->{id} }, 'Ann lists her links');
ok(!$seen->{ $bl->{id} } && !$seen->{ $pl->{id} },
   "and not Bob's nor the admin's");
problem_is($ws->api($ann, GET => "/api/v1/share-links/$bl->{id}"),
           404, 'not_found', "a contributor reading another's link: 404");
problem_is($ws->api($ann, GET => "/api/v1/share-links/$bl->{id}/analytics"),
           404, 'not_found', "nor its analytics");
problem_is($ws->api($ann, GET => "/api/v1/share-links/$bl->{id}/qr.svg"),
           404, 'not_found', "nor its QR code");
problem_is($ws->api($ann, DELETE => "/api/v1/share-links/$bl->{id}"),
           404, 'not_found', "a contributor revoking another's link: 404");
is(visit($bl->{code})->{status}, 302, 'which still works');

$seen = ids_of($pam);
ok($seen->{ $tl->{id} } && $seen->{ $pl->{id} } && $seen->{ $bobs_red->{id} },
   "a project manager lists the links of her team's project");
ok(!$seen->{ $bl->{id} }, "and not those of another team's");
is($ws->api($pam, GET => "/api/v1/share-links/$tl->{id}")->{status}, 200,
   "she reads a link of her team's project");
problem_is($ws->api($pam, GET => "/api/v1/share-links/$bl->{id}"),
           404, 'not_found', "another team's: 404");
problem_is($ws->api($pete, GET => "/api/v1/share-links/$tl->{id}"),
           404, 'not_found', "the other manager reading hers: 404");
ok(!ids_of($pete)->{ $tl->{id} }, 'nor lists it');

$seen = ids_of($admin);
ok(!grep({ !$seen->{ $_->{id} } } $tl, $pl, $ul, $bl, $bobs_red),
   'the admin lists them all');

$r = $ws->api($pam, DELETE => "/api/v1/share-links/$bobs_red->{id}");
is($r->{status}, 204, "the manager revokes Bob's link on her project");
is(visit($bobs_red->{code})->{status}, 410, 'which is gone at once');

# another workspace
my $other = $t->workspace(prefix => 'shareo');
problem_is($other->api($other->admin, GET => "/api/v1/share-links/$tl->{id}"),
           404, 'not_found', "another workspace's admin: 404 for the id");
problem_is($other->api($other->admin,
                       DELETE => "/api/v1/share-links/$tl->{id}"),
           404, 'not_found', 'and cannot revoke it');
ok(!grep({ $_->{id} eq $tl->{id} }
         @{ $other->api($other->admin, GET => '/api/v1/share-links')
                ->{json}{items} // [] }),
   'nor list it');
$r = visit($tl->{code}, host => $other->slug);
is($r->{status}, 404, "the code on another workspace's host: 404");
$r = visit($tl->{code}, host => $other->slug,
           headers => { Accept => 'application/json' });
problem_is($r, 404, 'not_found', 'as a problem when JSON is asked for');
problem_is($other->api(undef, GET => "/api/v1/shared/$tl->{code}"),
           404, 'not_found', 'and its shared JSON there: 404');
is(visit($tl->{code})->{status}, 302, 'while at home it opens');


###########################################################################
# the redirect

my $target = 'https://example.com/report?q=1&x=%20#part';
my $open = link_for($ann, url => $target);
$r = visit($open->{code});
is($r->{status}, 302, 'a URL link: 302');
is($r->{headers}{location}, $target, 'to the URL');
is($r->{headers}{'cache-control'}, 'private, no-store',
   'Cache-Control: private, no-store');
ok(!$r->{headers}{'set-cookie'}, 'a URL link sets no cookie');

$r = visit($tl->{code});
is($r->{status}, 302, 'a task link: 302');
location_is($r, "/shared/$tl->{code}", 'to the shared page');
is($r->{headers}{'cache-control'}, 'private, no-store',
   'Cache-Control: private, no-store');
$r = $t->req(GET => "/shared/$tl->{code}", host => $slug);
is($r->{status}, 200, 'the shared page is there');
like($r->{headers}{'content-type'}, qr{^text/html}, 'as HTML');

$r = visit($pl->{code});
location_is($r, "/shared/$pl->{code}", 'a project link: to the shared page');

my $unknown = 'Zz9' . substr($tl->{code}, 3);
$unknown = 'AAAAAAAAAA' if $unknown eq $tl->{code};
$r = visit($unknown);
is($r->{status}, 404, 'an unknown code: 404');
like($r->{headers}{'content-type'}, qr{^text/html}, 'an HTML page');
is($r->{headers}{'cache-control'}, 'private, no-store', 'not cached');
problem_is(visit($unknown, headers => { Accept => 'application/json' }),
           404, 'not_found', 'a problem with Accept: application/json');
is(visit(lc $tl->{code} eq $tl->{code} ? uc $tl->{code} : lc $tl->{code})
       ->{status},
   404, 'codes are case-sensitive');

for my $bad ('', 'abc', 'abcdefg', 'abcdefg!x', "$tl->{code}/",
             "$tl->{code}.json", "$tl->{code}%20", "%41$tl->{code}",
             'a' x 40, "$tl->{code}/x")
{
    is(visit($bad)->{status}, 404, "malformed code '/s/$bad': 404");
}

# revoked: gone at once, the cache notwithstanding
my $rv = link_for($ann, url => 'https://example.com/revoke-me');
is(visit($rv->{code})->{status}, 302, 'a link that works (now cached)');
is($ws->api($ann, DELETE => "/api/v1/share-links/$rv->{id}")->{status}, 204,
   'revoked by its maker: 204');
$r = visit($rv->{code});
is($r->{status}, 410, 'the next visit: 410');
like($r->{headers}{'content-type'}, qr{^text/html}, 'an HTML page');
problem_is(visit($rv->{code}, headers => { Accept => 'application/json' }),
           410, 'gone', 'a problem with Accept: application/json');
$r = $ws->api($ann, GET => "/api/v1/share-links/$rv->{id}");
ok($r->{json}{revoked_at}, 'the link shows when it was revoked');
is($ws->api($ann, DELETE => "/api/v1/share-links/$rv->{id}")->{status}, 204,
   'revoking again: 204');

# a deleted target
my $doomed = task($project, title => 'Doomed');
my $dl = link_for($admin, task_id => $doomed->{id});
is(visit($dl->{code})->{status}, 302, 'a link to a task (now cached)');
my $doomed2 = task($project, title => 'Doomed too');
my $dl2 = link_for($admin, task_id => $doomed2->{id});
for my $d ($doomed, $doomed2) {
    is($ws->api($admin, DELETE => "/api/v1/tasks/$d->{id}")->{status}, 204,
       'the task is deleted');
}
is(visit($dl2->{code})->{status}, 410,
   'a link to a deleted task, not visited before: 410');
my $deadline = time + 11;
my $status;
while (time < $deadline) {
    $status = visit($dl->{code})->{status};
    last if $status == 410;
    sleep 0.5;
}
is($status, 410, 'the cached one: 410 within the cache ttl');
problem_is($ws->api(undef, GET => "/api/v1/shared/$dl->{code}"), 410,
           'gone', 'and its shared JSON: 410');
$r = $ws->api($admin, GET => "/api/v1/share-links/$dl->{id}");
is($r->{status}, 200, 'the link itself still reads');

# expiry, to the second
$r = create($ann, url => 'https://example.com/soon', expires_in_seconds => 2);
is($r->{status}, 201, 'a link for 2 seconds');
my $soon = $r->{json};
my $ends = iso_epoch($soon->{expires_at});
ok($ends && $ends > time, 'it ends in the future') or diag($soon->{expires_at});
is(visit($soon->{code})->{status}, 302, 'it opens now');
sleep $ends + 0.6 - time if $ends + 0.6 > time;
is(visit($soon->{code})->{status}, 410, 'and not once it has ended');

# A link is open until the expires_at it shows and not a moment after,
# whatever the fraction of a second it was asked for.
for my $frac ('100', '600', '900') {
    my $start = int(time) + 3;
    my $asked = strftime('%Y-%m-%dT%H:%M:%S', gmtime($start)) . ".${frac}Z";
    my $l = link_for($ann, url => 'https://example.com/frac',
                     expires_at => $asked);
    my $shown = iso_epoch($l->{expires_at});
    ok($shown && $shown <= $start + $frac / 1000 + 0.0005,
       "asked for $asked: shown no later") or diag($l->{expires_at});
    $shown //= $start;
    sleep $shown - 0.3 - time if $shown - 0.3 > time;
    is(visit($l->{code})->{status}, 302,
       "asked for $asked: open 0.3 s before $l->{expires_at}");
    sleep $shown + 0.05 - time if $shown + 0.05 > time;
    is(visit($l->{code})->{status}, 410,
       "asked for $asked: closed 0.05 s after it");
}


###########################################################################
# passwords

my $secret_url = 'https://example.com/secret';
my $lock = link_for($ann, url => $secret_url, password => 'open sesame');
my $form_type = { 'Content-Type' => 'application/x-www-form-urlencoded' };

$r = visit($lock->{code});
is($r->{status}, 401, 'a protected link without a grant: 401');
like($r->{headers}{'content-type'}, qr{^text/html}, 'an HTML page');
like($r->{body}, qr{<form[^>]*\bmethod="post"}i, 'with a POST form');
like($r->{body}, qr{<form[^>]*\baction="/s/$lock->{code}"},
     'to the link itself');
like($r->{body}, qr{<input[^>]*\bname="password"}, 'asking for the password');
unlike($r->{body}, qr/wrong/i, 'not saying it was wrong');
is($r->{headers}{'cache-control'}, 'private, no-store', 'not cached');
problem_is(visit($lock->{code}, headers => { Accept => 'application/json' }),
           401, 'unauthorized', 'a problem with Accept: application/json');

$r = visit($lock->{code}, method => 'POST', body => 'password=open+sesam',
           headers => $form_type);
is($r->{status}, 401, 'a wrong password: 401');
like($r->{body}, qr{<input[^>]*\bname="password"}, 'the form again');
like($r->{body}, qr/wrong/i, 'saying the password was wrong');
ok(!$r->{headers}{'set-cookie'}, 'no cookie');

$r = visit($lock->{code}, method => 'POST', body => 'password=open+sesame',
           headers => $form_type);
is($r->{status}, 302, 'the right password (a form): 302');
location_is($r, "/s/$lock->{code}", 'back to the link');
my ($set) = grep { /^kanban_grant_\Q$lock->{code}\E=/ }
            @{ $r->{header_list}{'set-cookie'} // [] };
ok($set, "with a cookie kanban_grant_$lock->{code}")
    or diag($r->{raw});
$set //= '';
like($set, qr/;\s*HttpOnly/i, 'HttpOnly');
like($set, qr/;\s*SameSite=Lax/i, 'SameSite=Lax');
like($set, qr/;\s*Path=\/(;|$)/i, 'Path=/');
my ($grant) = $set =~ /^([^;]+)/;
$grant //= '';

$r = visit($lock->{code}, headers => { Cookie => "theme=dark; $grant" });
is($r->{status}, 302, 'following it with the cookie: 302');
is($r->{headers}{location}, $secret_url, 'to the target');

$r = visit($lock->{code}, method => 'POST',
           json => { password => 'open sesame' });
is($r->{status}, 302, 'the password as JSON: 302');
ok(grep({ /^kanban_grant_\Q$lock->{code}\E=/ }
        @{ $r->{header_list}{'set-cookie'} // [] }), 'with the cookie');
problem_is(visit($lock->{code}, method => 'POST',
                 json => { password => 'nope nope' },
                 headers => { Accept => 'application/json' }),
           401, 'invalid_credentials',
           'a wrong one as JSON: a 401 problem');

# cookies that must not work
my ($gname, $exp, $mac) = $grant =~ /^([^=]+)=(\d+)\.([0-9a-f]{64})$/;
ok($mac, 'the grant is EXP.MAC') or diag($grant);
$mac //= '0' x 64;
$exp //= time + 3600;
$gname //= "kanban_grant_$lock->{code}";
my $flipped = $mac =~ s/^(.)/$1 eq 'a' ? 'b' : 'a'/er;
is(visit($lock->{code}, headers => { Cookie => "$gname=$exp.$flipped" })
       ->{status}, 401, 'a tampered MAC: 401');
is(visit($lock->{code}, headers => { Cookie => "$gname=" . ($exp + 86400)
                                               . ".$mac" })
       ->{status}, 401, 'a lengthened expiry: 401');
my ($key) = $dbh->selectrow_array(
    'SELECT grant_secret FROM share_links WHERE id = ?', undef, $lock->{id});
my $old = time - 10;
is(visit($lock->{code}, headers => {
       Cookie => "$gname=$old." . hmac_sha256_hex("$lock->{code}.$old", $key)
   })->{status}, 401, 'a rightly signed but expired grant: 401');
my $lock2 = link_for($ann, url => $secret_url, password => 'open sesame');
is(visit($lock2->{code}, headers => { Cookie => $grant })->{status}, 401,
   "another link's grant: 401");
is(visit($lock2->{code},
         headers => { Cookie => "kanban_grant_$lock2->{code}=$exp.$mac" })
       ->{status}, 401, "another link's grant under this link's name: 401");

# wrong passwords: 5 per link and client
my $guard = link_for($ann, url => $secret_url, password => 'right one');
my @wrong;
for my $i (1 .. 5) {
    push @wrong, visit($guard->{code}, method => 'POST',
                       body => "password=wrong$i", headers => $form_type)
                 ->{status};
}
is_deeply(\@wrong, [ (401) x 5 ], '5 wrong passwords: 401 each');
$r = visit($guard->{code}, method => 'POST', body => 'password=wrong6',
           headers => $form_type);
is($r->{status}, 429, 'the sixth: 429');
like($r->{headers}{'retry-after'} // '', qr/^\d+$/, 'with Retry-After');
ok(($r->{headers}{'retry-after'} // 0) > 0
   && $r->{headers}{'retry-after'} <= 900, 'within the 15 minutes');
$r = visit($guard->{code}, method => 'POST', body => 'password=right+one',
           headers => $form_type);
is($r->{status}, 429, 'then even the right password is refused');
ok(!$r->{headers}{'set-cookie'}, 'with no grant');
problem_is(visit($guard->{code}, method => 'POST',
                 json => { password => 'right one' }),
           429, 'rate_limited', 'as JSON too');

my $guard2 = link_for($ann, url => $secret_url, password => 'right one');
is(visit($guard2->{code}, method => 'POST', body => 'password=right+one',
         headers => $form_type)->{status},
   302, 'another link from the same client: still 302');
$r = from('127.0.0.9', POST => "/s/$guard->{code}",
          body => 'password=right+one', headers => $form_type);
is($r->{status}, 302, 'the same link from another client: 302');

# the 5 hold when the guesses come all at once
my $rush = link_for($ann, url => $secret_url, password => 'right one');
my @rush = map {
    $t->send_req(POST => "/s/$rush->{code}", host => $slug,
                 body => "password=guess$_", headers => $form_type)
} 1 .. 20;
Kanban::Test::wait_all(\@rush, 60);
my %rush;
$rush{ $_->response->{status} }++ for @rush;
cmp_ok($rush{401} // 0, '<=', 5,
       '20 wrong passwords at once: at most 5 are tried (401)')
    or diag(explain \%rush);
is($rush{429} // 0, 20 - ($rush{401} // 0), 'the others: 429');


###########################################################################
# the shared JSON

my $hidden = 'A remark for insiders only';
made($ws->api($admin, POST => "/api/v1/tasks/$task->{id}/comments",
              json => { body => "$hidden, \@Ann see "
                                . "ann\@$slug.example" }), 'comment');
task($project, title => 'A child', parent_id => $task->{id});

$r = $ws->api(undef, GET => "/api/v1/shared/$tl->{code}");
is($r->{status}, 200, 'a task link: its JSON, 200');
is($r->{headers}{'cache-control'}, 'private, no-store', 'not cached');
is($r->{json}{task}{title}, 'Patch the VPN', 'with the task');
is_deeply($r->{json}{task}{assignees}, [ 'Ann' ], 'assignees by name');
unlike($r->{body}, qr/\@/, 'no email anywhere');
unlike($r->{body}, qr/\Q$hidden\E|"comments"/, 'no comments');

sub keys_deep {
    my ($v, $k) = @_;
    $k //= {};
    if (ref $v eq 'HASH') {
        $k->{$_} = 1, keys_deep($v->{$_}, $k) for keys %$v;
    } elsif (ref $v eq 'ARRAY') {
        keys_deep($_, $k) for @$v;
    }
    return $k;
}
my $keys = keys_deep($r->{json});
ok(!grep({ /email|comment|password|secret/ } keys %$keys),
   'no key of email, comment or password');

problem_is($ws->api(undef, GET => "/api/v1/shared/$pl->{code}"), 401,
           'unauthorized',
           'a project link that counts visits: not read before a visit');
$r = visit($pl->{code});
my ($pgrant) = map { /^([^;]+)/ }
               grep { /^kanban_grant_\Q$pl->{code}\E=/ }
               @{ $r->{header_list}{'set-cookie'} // [] };
$r = $ws->api(undef, GET => "/api/v1/shared/$pl->{code}",
              headers => { Cookie => $pgrant // '' });
is($r->{status}, 200, 'a project link: its JSON after a visit, 200');
is($r->{json}{project}{name}, 'Shared things', 'with the project');
unlike($r->{body}, qr/\@|\Q$hidden\E/, 'no email, no comment');

problem_is($ws->api(undef, GET => "/api/v1/shared/$open->{code}"), 404,
           'not_found', 'a URL link: 404');
problem_is($ws->api(undef, GET => "/api/v1/shared/$unknown"), 404,
           'not_found', 'an unknown code: 404');
problem_is($ws->api(undef, GET => '/api/v1/shared/abc'), 404,
           'not_found', 'a malformed code: 404');

my $tlock = link_for($ann, task_id => $task->{id}, password => 'open sesame');
problem_is($ws->api(undef, GET => "/api/v1/shared/$tlock->{code}"), 401,
           'unauthorized', 'a protected task link without a grant: 401');

# a link for one visit: the visitor it let through reads on, no one else
my $once = link_for($ann, task_id => $task->{id}, max_visits => 1);
$r = visit($once->{code});
is($r->{status}, 302, 'a one-visit link: the visit, 302');
($grant) = map { /^([^;]+)/ }
           grep { /^kanban_grant_\Q$once->{code}\E=/ }
           @{ $r->{header_list}{'set-cookie'} // [] };
ok($grant, 'with a grant cookie');
$grant //= '';
$r = $ws->api(undef, GET => "/api/v1/shared/$once->{code}",
              headers => { Cookie => $grant });
is($r->{status}, 200, 'the shared JSON with the grant: 200');
problem_is($ws->api(undef, GET => "/api/v1/shared/$once->{code}"), 410,
           'gone', 'without it, once used up: 410');
is(visit($once->{code})->{status}, 410, 'a second visit: 410');
problem_is($ws->api(undef, GET => "/api/v1/shared/$once->{code}"), 410,
           'gone', 'and still 410 without the grant');
is($ws->api(undef, GET => "/api/v1/shared/$once->{code}",
            headers => { Cookie => $grant })->{status},
   200, 'and 200 with it');

my $unvisited = link_for($ann, task_id => $task->{id}, max_visits => 1);
$r = $ws->api(undef, GET => "/api/v1/shared/$unvisited->{code}");
$r = $ws->api(undef, GET => "/api/v1/shared/$unvisited->{code}");
isnt($r->{status}, 200,
     'a one-visit link is not read again and again without a visit');


###########################################################################
# the QR code

$r = $ws->api($ann, GET => "/api/v1/share-links/$tl->{id}/qr.svg");
is($r->{status}, 200, 'the QR code: 200');
like($r->{headers}{'content-type'}, qr{^image/svg\+xml}, 'image/svg+xml');
my ($root, $paths) = ('', 0);
my $parsed = eval {
    XML::Parser->new(Handlers => { Start => sub {
        my (undef, $el, %a) = @_;
        $root ||= $el;
        $paths++ if $el eq 'path' && ($a{d} // '') =~ /^M\d/;
    } })->parse($r->{body});
    1;
};
ok($parsed, 'well-formed XML') or diag($@);
is($root, 'svg', 'an <svg>');
ok($paths, 'drawing modules');
my $qr2 = $ws->api($ann, GET => "/api/v1/share-links/$ul->{id}/qr.svg");
isnt($qr2->{body}, $r->{body}, 'another link, another picture');
is($ws->api($ann, GET => "/api/v1/share-links/$tl->{id}/qr.svg")->{body},
   $r->{body}, 'the same link, the same picture');
problem_is($ws->api($ann, GET => "/api/v1/share-links/$nobody/qr.svg"),
           404, 'not_found', 'an unknown link: 404');

# --- the audit trail keeps links to their makers -----------------------------

{
    my $r = $ws->api($bob, GET => "/api/v1/projects/$project->{id}/activity");
    is($r->{status}, 200, "the project's activity, read by a contributor");
    ok(!grep({ $_->{entity_type} eq 'share_link' }
             @{ $r->{json}{items} // [] }),
       '... shows no one\'s share links');
    my ($codes) = $ws->dbh->selectrow_array(
        q{SELECT count(*) FROM activity_log
           WHERE entity_type = 'share_link'
             AND (new_values->'code' IS NOT NULL
                  OR old_values->'code' IS NOT NULL)});
    is($codes, 0, 'no code in the audit trail');
}

# --- a password sent in chunks ------------------------------------------------

{
    my $l = link_for($admin, url => 'https://example.com/chunked',
                     password => 'secret words');
    my $r = $t->req(POST => "/s/$l->{code}", host => $slug,
                    body => 'password=secret+words', chunked => 5,
                    headers => { 'Content-Type' =>
                                 'application/x-www-form-urlencoded' });
    is($r->{status}, 302, 'a chunked form with the password: 302');
    ok(grep({ /^kanban_grant_\Q$l->{code}\E=/ }
            @{ $r->{header_list}{'set-cookie'} // [] }),
       '... with the grant');
}

# --- bodies that hold no password: one clear answer each ----------------------

{
    my $l = link_for($admin, url => 'https://example.com/bodies',
                     password => 'open sesame');
    my $post = sub {
        my ($type, $body) = @_;
        return $ws->api(undef, POST => "/s/$l->{code}", body => $body,
                        headers => { 'Content-Type' => $type });
    };
    problem_is($post->('application/x-www-form-urlencoded', 'nothing=here'),
               400, 'bad_request', 'a form without a password: 400');
    problem_is($post->('text/plain', 'password=open+sesame'), 415,
               'unsupported_media_type', 'plain text: 415');
    problem_is($post->('application/json', '{"pass": "open sesame"}'), 400,
               'bad_request', 'JSON without a password: 400');
}

$t->done_testing;
