#!/usr/bin/perl

# A project's tasks out and in: the export as JSON and as a CSV download
# (RFC 4180, parsed back here; formula cells guarded), readable by every
# member and by no other workspace; the import of a Trello board, of a CSV
# file and of our own export (a round trip reproduces the tasks), by
# managers only, all or nothing.

use strict;
use warnings;
use utf8;

use Encode qw(encode_utf8 decode_utf8);
use Test::More;
use Kanban::Test qw(problem_is error_for);

my $t = Kanban::Test->new->run;
my $ws = $t->workspace(prefix => 'xfer');
my $admin = $ws->admin;
my $pam = $ws->member('Pam', 'project_manager');
my $carl = $ws->member('Carl');

# A strict RFC 4180 reader, written apart from the server's: rows of fields.
sub csv_parse {
    my ($text) = @_;
    my (@rows, @row, $field);
    my $i = 0;
    my $n = length $text;
    while ($i < $n) {
        $field = '';
        if (substr($text, $i, 1) eq '"') {
            $i++;
            while (1) {
                die "unterminated quote" if $i >= $n;
                my $c = substr $text, $i++, 1;
                if ($c eq '"') {
                    if ($i < $n && substr($text, $i, 1) eq '"') {
                        $field .= '"';
                        $i++;
                        next;
                    }
                    last;
                }
                $field .= $c;
            }
        } else {
            while ($i < $n && substr($text, $i, 1) !~ /[,\r\n]/) {
                my $c = substr $text, $i++, 1;
                die "a quote in an unquoted field" if $c eq '"';
                $field .= $c;
            }
        }
        push @row, $field;
        my $sep = substr $text, $i, 1;
        if ($sep eq ',') {
            $i++;
            push(@row, ''), push(@rows, [@row]), @row = ()
                if $i == $n;
            next;
        }
        die "a bare CR or LF at $i" if $sep eq "\r"
            && substr($text, $i, 2) ne "\r\n";
        die "LF without CR at $i" if $sep eq "\n";
        $i += 2 if $sep eq "\r";
        push @rows, [@row];
        @row = ();
    }
    return \@rows;
}

# rows as hashes by the header
sub csv_records {
    my ($rows) = @_;
    my ($head, @rest) = @$rows;
    return [ map { my $r = $_; +{ map { ($head->[$_] => $r->[$_]) }
                                  0 .. $#$head } } @rest ];
}

# --- a project to export ----------------------------------------------------

my $r = $ws->api($pam, POST => '/api/v1/projects',
                 json => { key => 'VULN', name => 'Vulnerabilities' });
is($r->{status}, 201, 'a project') or diag $r->{body};
my $pid = $r->{json}{id};

my $field = $ws->api($admin, POST => '/api/v1/custom-fields',
                     json => { name => 'Severity', type => 'select',
                               options => ['low', 'high'] })->{json};

my %cols = map { $_->{name} => $_ } @{ $ws->api($carl,
    GET => "/api/v1/projects/$pid/columns")->{json}{items} };

sub task {
    my ($who, %b) = @_;
    my $r = $ws->api($who, POST => "/api/v1/projects/$pid/tasks",
                     json => \%b);
    die "task: $r->{status} $r->{body}" unless $r->{status} == 201;
    return $r->{json};
}

my $epic = task($pam, title => 'Patch the fleet, "all" of it',
                description => "Line one\nLine two, with a comma",
                column_id => $cols{'In Progress'}{id}, priority => 'high',
                assignee_ids => [ $carl->{id}, $pam->{id} ],
                labels => ['security', 'q4'], start_date => '2026-11-01',
                due_date => '2026-11-30', estimate_minutes => 480,
                custom_fields => { $field->{id} => 'high' });
my $sub = task($carl, title => 'Patch host ünïcødé', parent_id => $epic->{id},
               blocked => JSON::XS::true(), blocked_reason => 'waiting',
               column_id => $cols{Done}{id});
my $evil = task($carl, title => '=HYPERLINK("http://evil.example","x")',
                description => '+1 then -1 and @sum');
my $at = task($carl, title => '@mention', description => '-dash');

# --- JSON -------------------------------------------------------------------

$r = $ws->api($carl, GET => "/api/v1/projects/$pid/export");
is($r->{status}, 200, 'export: a contributor reads it');
like($r->{headers}{'content-type'}, qr{^application/json}, '... JSON by default');
my $doc = $r->{json};
is($doc->{project}{key}, 'VULN', '... with the project');
is_deeply([ map { $_->{name} } @{ $doc->{columns} } ],
          ['Backlog', 'To Do', 'In Progress', 'Review', 'Done'],
          '... its columns in order');
is(scalar @{ $doc->{tasks} }, 4, '... every task, subtasks included');
my ($e) = grep { $_->{key} eq 'VULN-1' } @{ $doc->{tasks} };
is($e->{column}, 'In Progress', '... the column by name');
is($e->{category}, 'in_progress', '... its category');
is_deeply($e->{assignees},
          [ sort map { lc $_->{email} } $carl, $pam ], '... assignees by email');
is_deeply($e->{labels}, ['security', 'q4'], '... labels');
is($e->{due_date}, '2026-11-30', '... dates');
is($e->{estimate_minutes}, 480, '... the estimate');
is_deeply($e->{custom_fields}, { Severity => 'high' },
          '... custom fields by name');
my ($s) = grep { $_->{key} eq 'VULN-2' } @{ $doc->{tasks} };
is($s->{parent_key}, 'VULN-1', "... a subtask's parent key");
ok($s->{blocked} && $s->{completed_at}, '... blocked, completed');

$r = $ws->api($carl, GET => "/api/v1/projects/$pid/export?format=json",
              headers => { Accept => 'text/csv' });
like($r->{headers}{'content-type'}, qr{^application/json},
     'format=json wins over Accept');

# --- CSV --------------------------------------------------------------------

$r = $ws->api($carl, GET => "/api/v1/projects/$pid/export?format=csv");
is($r->{status}, 200, 'CSV: 200');
like($r->{headers}{'content-type'}, qr{^text/csv}, '... text/csv');
is($r->{headers}{'content-disposition'},
   'attachment; filename="VULN-tasks.csv"', '... as a download');
like($r->{body}, qr/\r\n\z/, '... lines end in CRLF');
my $rows = eval { csv_parse($r->{body}) };
ok($rows, '... parses as RFC 4180') or diag $@;
$rows //= [[]];
is_deeply($rows->[0], [qw(key title description column category priority
    assignees labels start_date due_date estimate_minutes blocked
    blocked_reason parent_key custom_fields created_at completed_at)],
    '... with a header row');
my %by = map { $_->{key} => $_ } @{ csv_records($rows) };
is(scalar keys %by, 4, '... a row a task');
is(decode_utf8($by{'VULN-1'}{title}), 'Patch the fleet, "all" of it',
   '... commas and quotes survive');
is($by{'VULN-1'}{description}, "Line one\nLine two, with a comma",
   '... and line breaks');
is($by{'VULN-1'}{labels}, 'security; q4', '... lists with semicolons');
is($by{'VULN-1'}{custom_fields}, '{"Severity": "high"}',
   '... custom fields as JSON');
is(decode_utf8($by{'VULN-2'}{title}), 'Patch host ünïcødé', '... UTF-8');
is($by{'VULN-2'}{parent_key}, 'VULN-1', '... parent key');
is($by{'VULN-2'}{blocked}, 'true', '... blocked');
is($by{'VULN-3'}{title}, q{'=HYPERLINK("http://evil.example","x")},
   'formula guard: = gets an apostrophe');
is($by{'VULN-3'}{description}, "'+1 then -1 and \@sum", '... and +');
is($by{'VULN-4'}{title}, "'\@mention", '... and @');
is($by{'VULN-4'}{description}, "'-dash", '... and -');

$r = $ws->api($carl, GET => "/api/v1/projects/$pid/export",
              headers => { Accept => 'text/csv' });
like($r->{headers}{'content-type'}, qr{^text/csv}, 'Accept: text/csv gives CSV');

problem_is($ws->api($carl, GET => "/api/v1/projects/$pid/export?format=xml"),
           400, 'bad_request', 'an unknown format: 400');
problem_is($ws->api(undef, GET => "/api/v1/projects/$pid/export"),
           401, 'unauthorized', 'no token: 401');
problem_is($ws->api($carl, GET => '/api/v1/projects/'
                    . '00000000-0000-4000-8000-000000000000/export'),
           404, 'not_found', 'an unknown project: 404');
problem_is($ws->api($carl, GET => '/api/v1/projects/nope/export'),
           404, 'not_found', 'not an id: 404');

my $other = $t->workspace(prefix => 'xfer');
problem_is($other->api($other->admin, GET => "/api/v1/projects/$pid/export"),
           404, 'not_found', "another workspace's admin: 404");
problem_is($ws->api($carl, GET => "/api/v1/projects/$pid/export",
                    host => $other->slug),
           401, 'unauthorized', "a token on another workspace's host: 401");

# --- import -----------------------------------------------------------------

Kanban::Test->done_testing;
