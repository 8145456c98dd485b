#!/usr/bin/perl

# Virus scanning of attachments (ASVS 5.4.3): with kanban_clamd, nginx
# streams each upload to clamd (INSTREAM) on its event loop before it is
# stored. The EICAR test file is refused with 422 malware_detected and
# nothing is stored; a clean file is stored, marked X-Kanban-Scan: clean.
# A clamd that is slow (past kanban_clamd_timeout) or down is 503 with
# kanban_clamd_unavailable refuse; with accept the file is stored and
# marked unscanned. The scanning itself is checked against Debian's
# clamd (clamav-daemon) when it is installed, with a database of one
# signature made here (EICAR's; the official ones cannot be downloaded
# here), else against Kanban::Clamd, a real TCP server on loopback
# speaking clamd's protocol; a slow or failing clamd is always the
# latter, which can be told to be.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(time);
use Kanban::Test qw(problem_is);
use Kanban::Clamd;

my $EICAR = $Kanban::Clamd::EICAR;
my $clamd = Kanban::Clamd->new;                  # the one that can misbehave
my $scanner = Kanban::Clamd->real // $clamd;     # the one that scans
my $port = $scanner->port;
diag($scanner->is_real ? "clamd: Debian's, with the EICAR signature"
                       : 'clamd: Kanban::Clamd (clamav-daemon is not installed)');

sub stack {
    my ($directives) = @_;
    my $t = Kanban::Test->new(http => $directives)->run;
    my $ws = $t->workspace(prefix => 'clam');
    my $admin = $ws->admin;
    my $pid = $ws->api($admin, POST => '/api/v1/projects',
                       json => { key => 'CLM', name => 'Scanned' })->{json}{id};
    my $task = $ws->api($admin, POST => "/api/v1/projects/$pid/tasks",
                        json => { title => 'With files' })->{json}{id};
    return ($t, $ws, $admin, $task);
}

sub upload {
    my ($ws, $who, $task, $name, $bytes) = @_;
    return $ws->api($who, POST => "/api/v1/tasks/$task/attachments?filename=$name",
                    body => $bytes, headers => { 'Content-Type' => 'text/plain' });
}

sub stored {
    my ($ws, $who, $task) = @_;
    return scalar @{ $ws->api($who, GET => "/api/v1/tasks/$task/attachments")
                        ->{json}{items} // [] };
}

# --- refuse when clamd cannot answer -----------------------------------------

{
    my ($t, $ws, $admin, $task) = stack(
        "kanban_clamd 127.0.0.1:$port;\n"
        . "kanban_clamd_timeout 2s;\n"
        . "kanban_clamd_unavailable refuse;\n");

    my $r = upload($ws, $admin, $task, 'notes.txt', "just notes\n");
    is($r->{status}, 201, 'a clean file: stored') or diag $r->{body};
    is($r->{headers}{'x-kanban-scan'}, 'clean', '... marked clean');

    $r = upload($ws, $admin, $task, 'eicar.com.txt', $EICAR);
    problem_is($r, 422, 'malware_detected', 'the EICAR test file: 422');
    like($r->{json}{signature}, qr/^Eicar-Test-Signature/, '... naming what clamd found');
    is(stored($ws, $admin, $task), 1, '... and it is not stored');

    # several INSTREAM chunks: the signature at the end of 300 kB
    my $big = ('x' x 300_000) . $EICAR;
    $r = upload($ws, $admin, $task, 'big.txt', $big);
    problem_is($r, 422, 'malware_detected', 'EICAR after 300 kB (five chunks): 422');
    is(upload($ws, $admin, $task, 'big-clean.txt', 'y' x 300_000)->{status}, 201,
       '300 kB clean: stored');

    $scanner->stop;
    problem_is(upload($ws, $admin, $task, 'x.txt', "x\n"), 503, 'unavailable',
               'clamd down: 503');
    like($t->log_tail(50), qr/clamd at "127\.0\.0\.1:$port" is unavailable/,
         '... and the log says why');
    is(stored($ws, $admin, $task), 2, '... nothing stored');
    $t->stop;
}

# --- a clamd that misbehaves -------------------------------------------------

{
    my $port = $clamd->port;
    my ($t, $ws, $admin, $task) = stack(
        "kanban_clamd 127.0.0.1:$port;\n"
        . "kanban_clamd_timeout 2s;\n"
        . "kanban_clamd_unavailable refuse;\n");

    my $r = upload($ws, $admin, $task, 'notes.txt', "just notes\n");
    is($r->{status}, 201, 'the stand-in: a clean file stored');
    is(($clamd->streams)[-1], 11, '... after it read all of its 11 bytes');
    my $big = ('x' x 300_000) . $EICAR;
    problem_is(upload($ws, $admin, $task, 'big.txt', $big), 422,
               'malware_detected', '... EICAR after 300 kB: 422');
    is(($clamd->streams)[-1], length $big, '... every byte of the five chunks read');

    # a slow clamd: the upload waits no longer than the timeout, and the
    # worker serves others meanwhile
    $clamd->mode('slow');
    my $t0 = time;
    my $conn = $ws->send_api($admin, POST => "/api/v1/tasks/$task/attachments?filename=slow.txt",
                             body => "slow\n", headers => { 'Content-Type' => 'text/plain' });
    my $t1 = time;
    my $other = $ws->api($admin, GET => "/api/v1/tasks/$task/attachments");
    is($other->{status}, 200, 'while a scan waits, other requests are answered');
    cmp_ok(time - $t1, '<', 1.5, '... at once');
    Kanban::Test::wait_all([$conn], 10);
    $r = $conn->response;
    problem_is($r, 503, 'unavailable', 'clamd past kanban_clamd_timeout: 503');
    cmp_ok(time - $t0, '<', 4.5, "... after the 2 s timeout, not clamd's 5 s");
    is(stored($ws, $admin, $task), 1, '... nothing stored');

    $clamd->mode('close');
    problem_is(upload($ws, $admin, $task, 'x.txt', "x\n"), 503, 'unavailable',
               'clamd closing without a reply: 503');
    $clamd->mode('ok');
    $clamd->stop;
    $t->stop;
}

# --- accept, marked unscanned ------------------------------------------------

{
    my ($t, $ws, $admin, $task) = stack(
        "kanban_clamd 127.0.0.1:$port;\n"
        . "kanban_clamd_timeout 2s;\n"
        . "kanban_clamd_unavailable accept;\n");
    my $r = upload($ws, $admin, $task, 'notes.txt', "notes\n");
    is($r->{status}, 201, 'clamd down, unavailable accept: stored');
    is($r->{headers}{'x-kanban-scan'}, 'unscanned', '... marked unscanned');
    like($t->log_tail(50), qr/stored unscanned/, '... and logged');
    $t->stop;
}

# --- no kanban_clamd: no scanning ----------------------------------------------

{
    my ($t, $ws, $admin, $task) = stack('');
    my $r = upload($ws, $admin, $task, 'eicar.txt', $EICAR);
    is($r->{status}, 201, 'without kanban_clamd nothing is scanned');
    ok(!exists $r->{headers}{'x-kanban-scan'}, '... nor marked');
    $t->stop;
}

Kanban::Test::done_testing();
