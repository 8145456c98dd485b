#!/usr/bin/perl

# CalDAV (RFC 4791) for tasks: a person's to-do app syncs their tasks both
# ways. Debian's python3-caldav finds the calendars and reads and changes
# the to-dos; vdirsyncer syncs them with .ics files on disk, and a change
# made in the API and one made in a file both arrive on the other side.
# What comes in goes through the task's own rules: a stale ETag is 412, a
# contributor changes only their own tasks, the activity log names them.
# Sign-in is HTTP Basic with the email and an API token; the account's
# password, a revoked token and another workspace's token are refused.

use strict;
use warnings;
use utf8;

use Test::More;
use JSON::XS;
use MIME::Base64 qw(encode_base64);
use File::Temp qw(tempdir);
use Kanban::Test qw(made problem_is);
use Kanban::SSE;

my $t = Kanban::Test->new->run;

my $ws = $t->workspace(prefix => 'dav');
my $other = $t->workspace(prefix => 'dax');
my $dbh = $ws->dbh;
my $pam = $ws->member('Pam', 'project_manager');
my $carl = $ws->member('Carl');
my $port = $t->port;
my $host = $ws->slug . '.localhost';

sub day {
    my ($offset) = @_;
    my ($d) = $dbh->selectrow_array(
        'SELECT (workspace_today() + ?::int)::text', undef, $offset);
    return $d;
}

my $pid = made($ws->api($pam, POST => '/api/v1/projects',
                        json => { key => 'DAV', name => 'Sync' }),
               'project')->{id};

sub task {
    my (%f) = @_;
    return made($ws->api($pam, POST => "/api/v1/projects/$pid/tasks",
                         json => { assignee_ids => [ $carl->{id} ], %f }),
                'task');
}

my $report = task(title => 'Write the report', due_date => day(3),
                  priority => 'urgent');
my $call = task(title => 'Call the vendor', priority => 'low');
my $plan = task(title => 'Plan, review; ship', due_date => day(7));
my $pams = task(title => 'Pam\'s own', due_date => day(5),
                assignee_ids => [ $pam->{id} ]);

sub token {
    my ($who, @scopes) = @_;
    return made($ws->api($who, POST => '/api/v1/api-tokens',
                         json => { name => 'phone', scopes => \@scopes }),
                'token');
}

my $tok = token($carl, 'read', 'write');
my $ro = token($carl, 'read');
my $email = $carl->{email};

sub basic { 'Basic ' . encode_base64("$_[0]:$_[1]", '') }

sub dav {
    my ($method, $path, %o) = @_;
    my $auth = exists $o{auth} ? delete $o{auth} : basic($email, $tok->{token});
    return $t->req($method => $path, host => $ws->slug,
                   headers => { (defined $auth ? (Authorization => $auth) : ()),
                                %{ delete $o{headers} // {} } },
                   %o);
}

my $propfind = '<?xml version="1.0" encoding="utf-8"?>'
    . '<d:propfind xmlns:d="DAV:"><d:prop><d:current-user-principal/>'
    . '</d:prop></d:propfind>';

# --- finding it, signing in ---------------------------------------------------

my $r = $t->req(GET => '/.well-known/caldav', host => $ws->slug);
is($r->{status}, 301, 'the well-known URL redirects');
like($r->{headers}{location}, qr{/dav/$}, '... to /dav/');

$r = dav(OPTIONS => '/dav/', auth => undef);
is($r->{status}, 200, 'OPTIONS answers without credentials');
like($r->{headers}{dav}, qr/calendar-access/, '... with DAV: calendar-access');

$r = dav(PROPFIND => '/dav/', auth => undef, body => $propfind);
is($r->{status}, 401, 'no credentials: 401');
like($r->{headers}{'www-authenticate'}, qr/^Basic /, '... a Basic challenge');
problem_is(dav(PROPFIND => '/dav/', body => $propfind,
               auth => basic($email, 'Password-123456')), 401, 'unauthorized',
           'the account\'s password is no CalDAV password');
problem_is(dav(PROPFIND => '/dav/', body => $propfind,
               auth => basic($pam->{email}, $tok->{token})), 401,
           'unauthorized', 'a token with another person\'s email is refused');
problem_is($other->api(undef, PROPFIND => '/dav/', body => $propfind,
                       headers => { Authorization =>
                                    basic($email, $tok->{token}) }),
           401, 'unauthorized', 'another workspace refuses the token');

$r = dav(PROPFIND => '/dav/', body => $propfind, headers => { Depth => 0 });
is($r->{status}, 207, 'PROPFIND with the email and an API token: 207');
like($r->{body}, qr{<d:current-user-principal><d:href>/dav/principals/$carl->{id}/</d:href>},
     '... the current user\'s principal');

problem_is(dav(PROPFIND => '/dav/', headers => { Depth => 0 },
               body => '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x '
                       . 'SYSTEM "file:///etc/passwd">]><d:propfind '
                       . 'xmlns:d="DAV:"><d:prop>&x;</d:prop></d:propfind>'),
           400, 'bad_request', 'XML with a DOCTYPE (entities) is refused');
problem_is(dav(PROPFIND => '/dav/', body => '<d:propfind xmlns:d="DAV:">'),
           400, 'bad_request', 'XML that is not well formed: 400');
$r = dav(PROPFIND => '/dav/', body => '<x/>' x 70000);
is($r->{status}, 413, 'a body over 256 KB: 413');

# --- python3-caldav ------------------------------------------------------------

# *.localhost resolves to 127.0.0.1 for the clients as for browsers
my $resolve = <<'PY';
import os, socket
os.environ['no_proxy'] = '*'
_gai = socket.getaddrinfo
def _local(h, *a, **k):
    if isinstance(h, str) and h.endswith('.localhost'):
        h = '127.0.0.1'
    return _gai(h, *a, **k)
socket.getaddrinfo = _local
PY

my $dir = tempdir('caldav-XXXXXX', DIR => $Kanban::Test::TMP, CLEANUP => 1);

sub python {
    my ($script, @args) = @_;
    Kanban::Test::write_file("$dir/script.py", $resolve . $script);
    my $out = `/usr/bin/python3 '$dir/script.py' @args 2>'$dir/python.err'`;
    diag(Kanban::Test::read_file("$dir/python.err")) if $?;
    return $? ? undef : decode_json($out);
}

my $url = "http://$host:$port/dav/";
my $seen = python(<<'PY', $url, $email, $tok->{token});
import json, sys, caldav
client = caldav.DAVClient(sys.argv[1], username=sys.argv[2],
                          password=sys.argv[3])
principal = client.principal()
cals = principal.calendars()
mine = [c for c in cals if c.name == 'My tasks'][0]
out = {'calendars': sorted(c.name for c in cals), 'todos': {}}
for todo in mine.todos(sort_keys=(), include_completed=True):
    t = todo.icalendar_instance.walk('VTODO')[0]
    out['todos'][str(t['summary'])] = {
        'uid': str(t['uid']),
        'due': t.decoded('due').isoformat() if t.get('due') else None,
        'priority': int(t['priority']),
        'status': str(t['status'])}
print(json.dumps(out))
PY
ok($seen, 'python3-caldav finds the principal, the home and the calendars');
is_deeply($seen->{calendars}, [ 'DAV Sync', 'My tasks' ],
          '... the person\'s tasks and their project\'s');
my $todos = $seen->{todos} // {};
is_deeply([ sort keys %$todos ],
          [ 'Call the vendor', 'Plan, review; ship', 'Write the report' ],
          '... the to-dos are the tasks assigned to them, titles whole');
is($todos->{'Write the report'}{due}, day(3), '... due on the due date');
is($todos->{'Write the report'}{priority}, 1, '... urgent is priority 1');
is($todos->{'Call the vendor'}{due}, undef, '... no due date, no DUE');
is($todos->{'Call the vendor'}{status}, 'NEEDS-ACTION', '... open');

$seen = python(<<'PY', $url, $email, $tok->{token}, day(4));
import json, sys, datetime, caldav
client = caldav.DAVClient(sys.argv[1], username=sys.argv[2],
                          password=sys.argv[3])
mine = [c for c in client.principal().calendars() if c.name == 'My tasks'][0]
for todo in mine.todos(sort_keys=()):
    t = todo.icalendar_instance.walk('VTODO')[0]
    if str(t['summary']) == 'Write the report':
        t['summary'] = 'Write the final report'
        t['priority'] = 2
        del t['due']
        t.add('due', datetime.date.fromisoformat(sys.argv[4]))
        todo.save()
    elif str(t['summary']) == 'Call the vendor':
        todo.complete()
print(json.dumps({'ok': 1}))
PY
ok($seen, 'python3-caldav changes one to-do and completes another');

my $got = made($ws->api($carl, GET => "/api/v1/tasks/$report->{id}"), 'get');
is($got->{title}, 'Write the final report', 'the title arrived (SUMMARY)');
is($got->{due_date}, day(4), '... the due date (DUE)');
is($got->{priority}, 'high', '... priority 2 is high');
$got = made($ws->api($carl, GET => "/api/v1/tasks/$call->{id}"), 'get');
ok($got->{completed_at}, 'the completed to-do is done');
is($got->{category}, 'done', '... in the done column');
my ($acts) = $dbh->selectrow_array(
    "SELECT count(*) FROM activity_log WHERE actor_id = ? AND entity_id IN
     (?, ?) AND action IN ('updated', 'moved')", undef,
    $carl->{id}, $report->{id}, $call->{id});
cmp_ok($acts, '>=', 2, '... each change in the activity log, as Carl\'s');

# --- GET, PUT, DELETE by hand -------------------------------------------------

my $item = "/dav/calendars/$carl->{id}/tasks/$plan->{id}.ics";
$r = dav(GET => $item);
is($r->{status}, 200, 'GET one .ics');
like($r->{headers}{'content-type'}, qr{^text/calendar}, '... text/calendar');
like($r->{body}, qr/\r\nSUMMARY:Plan\\, review\\; ship\r\n/,
     '... its SUMMARY escaped');
my $etag = $r->{headers}{etag};
like($etag, qr/^"\d+"$/, '... with its ETag');
my $ics = $r->{body};

my $stream = Kanban::SSE->open($t, $ws->slug, $ws->admin->{token});
(my $changed = $ics) =~ s/SUMMARY:[^\r]*/SUMMARY:Plan it all/;
$changed =~ s/PRIORITY:\d/PRIORITY:9/;
$r = dav(PUT => $item, body => $changed,
         headers => { 'Content-Type' => 'text/calendar', 'If-Match' => $etag });
is($r->{status}, 204, 'PUT with the current ETag: 204');
my ($event) = grep { $_->{event} eq 'task.updated'
                     && $_->{data}{id} eq $plan->{id} }
              $stream->until(sub { $_[0]{event} eq 'task.updated'
                                   && $_[0]{data}{id} eq $plan->{id} }, 5);
ok($event, '... an event on the stream, as the API\'s change makes');
$stream->close;
$got = made($ws->api($carl, GET => "/api/v1/tasks/$plan->{id}"), 'get');
is($got->{title}, 'Plan it all', '... the title changed');
is($got->{priority}, 'low', '... priority 9 is low');

$r = dav(PUT => $item, body => $ics,
         headers => { 'Content-Type' => 'text/calendar', 'If-Match' => $etag });
problem_is($r, 412, 'precondition_failed', 'PUT with a stale ETag: 412');
is(made($ws->api($carl, GET => "/api/v1/tasks/$plan->{id}"), 'get')->{title},
   'Plan it all', '... nothing changed');

(my $untitled = $ics) =~ s/SUMMARY:[^\r]*\r\n//;
problem_is(dav(PUT => $item, body => $untitled,
               headers => { 'Content-Type' => 'text/calendar' }),
           422, 'validation_failed', 'a to-do without SUMMARY is refused');
problem_is(dav(PUT => $item, body => 'not a calendar',
               headers => { 'Content-Type' => 'text/calendar' }),
           422, 'validation_failed', 'a body that is no iCalendar is refused');

my $foreign = "/dav/calendars/$carl->{id}/project-$pid/$pams->{id}.ics";
$r = dav(GET => $foreign);
is($r->{status}, 200, 'the project\'s calendar holds a task of Pam\'s');
(my $theirs = $r->{body}) =~ s/SUMMARY:[^\r]*/SUMMARY:Taken over/;
problem_is(dav(PUT => $foreign, body => $theirs,
               headers => { 'Content-Type' => 'text/calendar' }),
           403, 'forbidden', '... which a contributor may not change');
problem_is(dav(PUT => $item, body => $changed, auth => basic($email, $ro->{token}),
               headers => { 'Content-Type' => 'text/calendar' }),
           403, 'forbidden', 'a read-only token changes nothing');
problem_is(dav(DELETE => $item), 403, 'forbidden',
           'DELETE is refused: tasks are deleted in the app');
problem_is(dav(PUT => "/dav/calendars/$carl->{id}/tasks/new-one.ics",
               body => $ics, headers => { 'Content-Type' => 'text/calendar' }),
           403, 'forbidden', '... and made there');
problem_is(dav(GET => "/dav/calendars/$pam->{id}/tasks/$pams->{id}.ics"),
           404, 'not_found', 'another person\'s calendar is not there');

# --- vdirsyncer -----------------------------------------------------------------

my $local = "$dir/local";
mkdir $local;
Kanban::Test::write_file("$dir/vdirsyncer.conf", <<"CONF");
[general]
status_path = "$dir/status/"

[pair tasks]
a = "kanban"
b = "disk"
collections = ["tasks"]
conflict_resolution = "a wins"

[storage kanban]
type = "caldav"
url = "http://$host:$port/"
username = "$email"
password = "$tok->{token}"

[storage disk]
type = "filesystem"
path = "$local/"
fileext = ".ics"
CONF

# vdirsyncer itself, with the same resolution of *.localhost
Kanban::Test::write_file("$dir/run_vdirsyncer.py", $resolve . <<'PY');
import sys
from vdirsyncer.cli import main
sys.argv[0] = 'vdirsyncer'
sys.exit(main())
PY

sub vdirsyncer {
    my ($cmd) = @_;
    my $out = `yes | /usr/bin/python3 '$dir/run_vdirsyncer.py' -c '$dir/vdirsyncer.conf' $cmd 2>&1`;
    return ($? >> 8, $out);
}

sub local_files {
    my %by;
    for my $f (glob("$local/tasks/*.ics")) {
        my $text = Kanban::Test::read_file($f);
        (my $unfolded = $text) =~ s/\r?\n[ \t]//g;
        my ($summary) = $unfolded =~ /^SUMMARY:(.*?)\r?$/m;
        $summary =~ s/\\([,;\\])/$1/g;
        $by{$summary} = { file => $f, text => $text };
    }
    return \%by;
}

my ($rc, $out) = vdirsyncer('discover tasks');
is($rc, 0, 'vdirsyncer discovers the calendar from the well-known URL')
    or diag $out;
($rc, $out) = vdirsyncer('sync');
is($rc, 0, 'vdirsyncer syncs') or diag $out;
my $files = local_files();
is_deeply([ sort keys %$files ],
          [ 'Call the vendor', 'Plan it all', 'Write the final report' ],
          '... one .ics file for each of Carl\'s tasks');

made($ws->api($pam, PATCH => "/api/v1/tasks/$report->{id}",
              json => { title => 'Report, changed in the app' }), 'patch');
my $f = $files->{'Plan it all'}{file};
(my $text = $files->{'Plan it all'}{text}) =~ s/SUMMARY:[^\r\n]*/SUMMARY:Plan it on disk/;
$text =~ s/DUE;VALUE=DATE:\d+/'DUE;VALUE=DATE:' . (day(9) =~ s{-}{}gr)/e;
Kanban::Test::write_file($f, $text);

($rc, $out) = vdirsyncer('sync');
is($rc, 0, 'vdirsyncer syncs both changes') or diag $out;
$files = local_files();
ok($files->{'Report, changed in the app'},
   'the change made in the app is in its file')
    or diag explain [ keys %$files ];
$got = made($ws->api($carl, GET => "/api/v1/tasks/$plan->{id}"), 'get');
is($got->{title}, 'Plan it on disk', 'the change made on disk is the task\'s');
is($got->{due_date}, day(9), '... its due date too');

($rc, $out) = vdirsyncer('sync');
is($rc, 0, 'a sync with nothing new');
$got = made($ws->api($carl, GET => "/api/v1/tasks/$plan->{id}"), 'get');
is($got->{title}, 'Plan it on disk', '... changes nothing');

# --- a revoked token -------------------------------------------------------------

is($ws->api($carl, DELETE => "/api/v1/api-tokens/$tok->{id}")->{status}, 204,
   'Carl revokes the token');
problem_is(dav(PROPFIND => '/dav/', body => $propfind), 401, 'unauthorized',
           '... and it is refused at once');
($rc, $out) = vdirsyncer('sync');
isnt($rc, 0, '... vdirsyncer too');

$t->done_testing;
