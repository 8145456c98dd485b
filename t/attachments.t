#!/usr/bin/perl

# Attachments: a file uploaded as a raw body comes back byte for byte
# (random binary with NUL bytes, a multi-megabyte file, chunked), with its
# size and SHA-256; listed per task; downloaded with its media type, as an
# attachment whose name is safely quoted (RFC 5987 for non-ASCII), in a
# sandbox; removed by its uploader, the task's changers or an admin; gone
# with its task. Limits: 10 MB (413), an empty body or a bad name (422);
# roles (403), no token (401), other workspaces and unknown ids (404).

use strict;
use warnings;
use utf8;

use Digest::SHA qw(sha256_hex);
use Encode qw(encode_utf8);
use Test::More;
use Kanban::Test qw(problem_is error_for);

my $t = Kanban::Test->new->run;
my $ws = $t->workspace(prefix => 'att');
my $admin = $ws->admin;
my $pam = $ws->member('Pam', 'project_manager');
my $carl = $ws->member('Carl');
my $cleo = $ws->member('Cleo');

my $pid = $ws->api($pam, POST => '/api/v1/projects',
                   json => { key => 'ATT', name => 'Files' })->{json}{id};

sub task {
    my ($who, %b) = @_;
    my $r = $ws->api($who, POST => "/api/v1/projects/$pid/tasks",
                     json => { title => 'A task', %b });
    die "task: $r->{status} $r->{body}" unless $r->{status} == 201;
    return $r->{json};
}

my $task = task($carl);                     # Carl reported it
my $tid = $task->{id};

sub upload {
    my ($who, $task_id, $name, $bytes, %o) = @_;
    my $q = defined $name ? '?filename=' . uri_escape($name) : '';
    return $ws->api($who, POST => "/api/v1/tasks/$task_id/attachments$q",
                    body => $bytes,
                    headers => { 'Content-Type' => $o{type},
                                 %{ $o{headers} // {} } },
                    %{ $o{req} // {} });
}

sub uri_escape {
    my ($s) = @_;
    $s = encode_utf8($s);
    $s =~ s/([^A-Za-z0-9._~-])/sprintf '%%%02X', ord $1/ge;
    return $s;
}

# --- round trips -------------------------------------------------------------

srand 4711;
my $binary = join '', map { chr int rand 256 } 1 .. 65536;
$binary .= "\0\0\0" . "\xff\xfe" . "\0";
ok(index($binary, "\0") >= 0, 'the test file has NUL bytes');

my $r = upload($carl, $tid, 'dump.bin', $binary,
               type => 'application/x-test; charset=binary');
is($r->{status}, 201, 'upload: 201') or diag $r->{body};
my $att = $r->{json};
is($r->{headers}{location}, "/api/v1/attachments/$att->{id}",
   '... with its Location');
is($att->{task_id}, $tid, '... of the task');
is($att->{filename}, 'dump.bin', '... its name');
is($att->{content_type}, 'application/x-test; charset=binary',
   '... its media type as sent');
is($att->{size}, length $binary, '... its size');
is($att->{sha256}, sha256_hex($binary), '... its SHA-256');
is($att->{uploaded_by}, $carl->{id}, '... who uploaded it');
like($att->{created_at}, qr/^\d{4}-\d\d-\d\dT/, '... when');

$r = $ws->api($cleo, GET => "/api/v1/attachments/$att->{id}");
is($r->{status}, 200, 'download: any member');
ok($r->{body} eq $binary, '... the very bytes')
    or diag 'got ' . length($r->{body}) . ' bytes';
is($r->{headers}{'content-type'}, 'application/x-test; charset=binary',
   '... with the stored media type');
is($r->{headers}{'content-length'}, length $binary, '... and length');
is($r->{headers}{'content-disposition'}, 'attachment; filename="dump.bin"',
   '... as an attachment');
is($r->{headers}{'x-content-type-options'}, 'nosniff', '... nosniff');
like($r->{headers}{'content-security-policy'} // '', qr/\bsandbox\b/,
     '... in a sandbox');
is($r->{headers}{etag}, qq{"$att->{sha256}"}, '... its hash as ETag');

$r = $ws->api($cleo, GET => "/api/v1/attachments/$att->{id}",
              headers => { 'If-None-Match' => qq{"$att->{sha256}"} });
is($r->{status}, 304, 'If-None-Match: 304');

$r = $ws->api($cleo, HEAD => "/api/v1/attachments/$att->{id}");
is($r->{status}, 200, 'HEAD: 200');
is($r->{body}, '', '... no body');

# several megabytes, chunked, no media type
my $big = join '', map { pack 'N', int rand 2**32 } 1 .. (3 * 1024 * 1024 / 4);
$r = upload($pam, $tid, 'big.iso', $big, req => { chunked => 65536 });
is($r->{status}, 201, 'a 3 MB upload, chunked: 201') or diag $r->{body};
my $big_att = $r->{json};
is($big_att->{content_type}, 'application/octet-stream',
   '... no Content-Type: application/octet-stream');
is($big_att->{sha256}, sha256_hex($big), '... its SHA-256');
$r = $ws->api($carl, GET => "/api/v1/attachments/$big_att->{id}");
ok($r->{body} eq $big, '... comes back byte for byte');

# exactly 10 MB is allowed
my $ten = 'x' x (10 * 1024 * 1024);
$r = upload($carl, $tid, 'ten.txt', $ten, type => 'text/plain');
is($r->{status}, 201, 'exactly 10 MB: 201') or diag $r->{body};
is($r->{json}{size}, 10 * 1024 * 1024, '... all of it');
my $ten_id = $r->{json}{id};

# names
my $name = 'Rapport «été» 2026 "final".pdf';
$r = upload($carl, $tid, $name, "%PDF-1.4\n", type => 'application/pdf');
is($r->{status}, 201, 'a non-ASCII name: 201');
is($r->{json}{filename}, $name, '... stored as sent');
my $pdf = $r->{json};
$r = $ws->api($carl, GET => "/api/v1/attachments/$pdf->{id}");
my $cd = $r->{headers}{'content-disposition'} // '';
like($cd, qr/^attachment; filename="[\x20-\x7e]+"; filename\*=UTF-8''/,
     'non-ASCII: an ASCII stand-in, then filename*');
my ($plain) = $cd =~ /filename="([^"]*)"/;
unlike($plain // '"', qr/["\\]/, '... the stand-in has no quote');
my ($ext) = $cd =~ /filename\*=UTF-8''(\S+)/;
(my $decoded = $ext // '') =~ s/%([0-9A-F]{2})/chr hex $1/ge;
is($decoded, encode_utf8($name), '... filename* decodes to the name');
unlike($ext // '', qr/[^A-Za-z0-9!#\$&+\-.^_`|~%]/,
       '... with only attr-chars');

# HTML stays inert
$r = upload($carl, $tid, 'x.html', '<script>alert(1)</script>',
            type => 'text/html');
$r = $ws->api($carl, GET => "/api/v1/attachments/$r->{json}{id}");
like($r->{headers}{'content-security-policy'} // '', qr/\bsandbox\b/,
     'an HTML file is served in a sandbox');
like($r->{headers}{'content-disposition'}, qr/^attachment;/,
     '... as an attachment');

# --- list ---------------------------------------------------------------------

$r = $ws->api($cleo, GET => "/api/v1/tasks/$tid/attachments");
is($r->{status}, 200, 'list: any member');
is_deeply([ map { $_->{filename} } @{ $r->{json}{items} } ],
          ['dump.bin', 'big.iso', 'ten.txt', $name, 'x.html'],
          '... every file, oldest first');
ok(!grep({ exists $_->{data} } @{ $r->{json}{items} }), '... without bytes');
is_deeply($r->{json}{items}[0], $att, '... as the upload answered');
is_deeply($ws->api($cleo, GET => "/api/v1/tasks/${\ task($carl)->{id}}"
                   . '/attachments')->{json}{items}, [],
          'a task without files: an empty list');

# --- limits -------------------------------------------------------------------

problem_is(upload($carl, $tid, 'big', 'x' x (10 * 1024 * 1024 + 1)),
           413, 'payload_too_large', 'one byte over 10 MB: 413');
problem_is(upload($carl, $tid, 'big', 'x' x (10 * 1024 * 1024 + 1),
                  req => { chunked => 1024 * 1024 }),
           413, 'payload_too_large', '... chunked too');
problem_is(upload($carl, $tid, 'empty.txt', ''), 422, 'validation_failed',
           'an empty body: 422');
problem_is(upload($carl, $tid, 'empty.txt', '', req => { chunked => 10 }),
           422, 'validation_failed', '... chunked too');
problem_is($ws->api($carl, POST => '/api/v1/projects', body => 'x' x 1500000,
                    headers => { 'Content-Type' => 'application/json' }),
           413, 'payload_too_large', 'JSON routes keep their 1 MB limit');

for my $bad (['', 'required', 'no name'],
             ['a/b.txt', 'invalid_format', 'a slash'],
             ['a\\b.txt', 'invalid_format', 'a backslash'],
             ["a\x00b.txt", 'invalid_format', 'a NUL'],
             ["a\nb.txt", 'invalid_format', 'a line break'],
             ["a\x7fb", 'invalid_format', 'DEL'],
             ['..', 'invalid_format', '..'],
             ["a\x{202e}fdp.exe", 'invalid_format',
              'a right-to-left override'],
             ["a\x{2067}b.txt", 'invalid_format', 'a direction isolate'],
             ['é' x 128, 'too_long', '256 bytes'])
{
    my ($n, $code, $what) = @$bad;
    $r = upload($carl, $tid, $n, 'data');
    problem_is($r, 422, 'validation_failed', "file name with $what: 422");
    is((error_for($r, 'filename') // {})->{code}, $code, "... $code");
}
$r = $ws->api($carl, POST => "/api/v1/tasks/$tid/attachments", body => 'd');
is((error_for($r, 'filename') // {})->{code}, 'required',
   'no ?filename= at all: required');
$r = $ws->api($carl, POST => "/api/v1/tasks/$tid/attachments?filename=%FF.txt",
              body => 'd');
problem_is($r, 422, 'validation_failed', 'a name that is not UTF-8: 422');
is(upload($carl, $tid, 'é' x 127, 'data')->{status}, 201,
   '254 bytes of UTF-8: fine');
problem_is(upload($carl, $tid, 'x.txt', 'data', type => 'not a type'),
           422, 'validation_failed', 'a Content-Type that is none: 422');

# --- who may ------------------------------------------------------------------

problem_is(upload($cleo, $tid, 'c.txt', 'data'), 403, 'forbidden',
           'a contributor who may not change the task: 403');
problem_is(upload(undef, $tid, 'c.txt', 'data'), 401, 'unauthorized',
           'no token: 401');
problem_is($ws->api(undef, GET => "/api/v1/tasks/$tid/attachments"), 401,
           'unauthorized', 'list without a token: 401');
problem_is($ws->api(undef, GET => "/api/v1/attachments/$att->{id}"), 401,
           'unauthorized', 'download without a token: 401');

my $cleos_task = task($cleo);
$r = upload($cleo, $cleos_task->{id}, 'mine.txt', 'mine');
is($r->{status}, 201, "Cleo attaches to her own task");
my $cleos = $r->{json};
$r = $ws->api($carl, PATCH => "/api/v1/tasks/$tid",
              json => { assignee_ids => [$cleo->{id}] });
is($r->{status}, 200, 'Carl assigns his task to Cleo');
$r = upload($cleo, $tid, 'assigned.txt', 'now');
is($r->{status}, 201, '... now she may attach to it');
my $by_cleo = $r->{json};

problem_is($ws->api($carl, DELETE => "/api/v1/attachments/$cleos->{id}"),
           403, 'forbidden', "Carl may not remove a file of Cleo's task");
is($ws->api($cleo, DELETE => "/api/v1/attachments/$cleos->{id}")->{status},
   204, '... its uploader may');
is($ws->api($carl, DELETE => "/api/v1/attachments/$by_cleo->{id}")->{status},
   204, "the task's reporter removes Cleo's file on it");
is($ws->api($pam, DELETE => "/api/v1/attachments/$pdf->{id}")->{status},
   204, 'a project manager removes one');
is($ws->api($admin, DELETE => "/api/v1/attachments/$ten_id")->{status},
   204, 'an admin removes one');
problem_is($ws->api($carl, GET => "/api/v1/attachments/$pdf->{id}"), 404,
           'not_found', 'a removed file: 404');
problem_is($ws->api($carl, DELETE => "/api/v1/attachments/$pdf->{id}"), 404,
           'not_found', '... removed again: 404');
problem_is($ws->api(undef, DELETE => "/api/v1/attachments/$att->{id}"), 401,
           'unauthorized', 'remove without a token: 401');

# --- the audit trail ----------------------------------------------------------

$r = $ws->api($carl, GET => "/api/v1/tasks/$tid/activity");
my @acts = map { $_->{action} } @{ $r->{json}{items} };
ok((grep { $_ eq 'attachment_added' } @acts) >= 5,
   "uploads are in the task's trail");
is(scalar(grep { $_ eq 'attachment_deleted' } @acts), 3,
   '... and removals');
my ($added) = grep { $_->{action} eq 'attachment_added' }
              @{ $r->{json}{items} };
is($added->{new_values}{sha256}, $att->{sha256}, '... with what was added');
is($added->{actor_id}, $carl->{id}, '... and by whom');

# --- unknown ids and other workspaces ----------------------------------------

my $none = '00000000-0000-4000-8000-000000000000';
problem_is(upload($carl, $none, 'x.txt', 'data'), 404, 'not_found',
           'upload to an unknown task: 404');
problem_is(upload($carl, 'nope', 'x.txt', 'data'), 404, 'not_found',
           '... to no id: 404');
problem_is($ws->api($carl, GET => "/api/v1/tasks/$none/attachments"), 404,
           'not_found', 'list of an unknown task: 404');
problem_is($ws->api($carl, GET => "/api/v1/attachments/$none"), 404,
           'not_found', 'an unknown attachment: 404');
problem_is($ws->api($carl, GET => '/api/v1/attachments/nope'), 404,
           'not_found', 'not an id: 404');

my $other = $t->workspace(prefix => 'att');
my $oa = $other->admin;
problem_is($other->api($oa, GET => "/api/v1/attachments/$att->{id}"), 404,
           'not_found', "another workspace's admin: download 404");
problem_is($other->api($oa, GET => "/api/v1/tasks/$tid/attachments"), 404,
           'not_found', '... list 404');
problem_is($other->api($oa, DELETE => "/api/v1/attachments/$att->{id}"), 404,
           'not_found', '... remove 404');
$r = $other->api($oa, POST => "/api/v1/tasks/$tid/attachments?filename=x",
                 body => 'data');
problem_is($r, 404, 'not_found', '... upload 404');
problem_is($ws->api($carl, GET => "/api/v1/attachments/$att->{id}",
                    host => $other->slug),
           401, 'unauthorized', "a token on another workspace's host: 401");

# --- a task's files go with it ---------------------------------------------

my $doomed = task($carl);
my $sub = task($carl, parent_id => $doomed->{id});
my $a1 = upload($carl, $doomed->{id}, 'a.txt', 'a')->{json};
my $a2 = upload($carl, $sub->{id}, 'b.txt', 'b')->{json};
is($ws->api($carl, DELETE => "/api/v1/tasks/$doomed->{id}")->{status}, 204,
   'a task with files (and a subtask with files) deleted');
problem_is($ws->api($carl, GET => "/api/v1/attachments/$a1->{id}"), 404,
           'not_found', '... its file is gone');
problem_is($ws->api($carl, GET => "/api/v1/attachments/$a2->{id}"), 404,
           'not_found', "... and its subtask's");
is($ws->dbh->selectrow_array(
       'SELECT count(*) FROM attachments WHERE id IN (?, ?)', undef,
       $a1->{id}, $a2->{id}), 0, '... no row left');

Kanban::Test->done_testing;
