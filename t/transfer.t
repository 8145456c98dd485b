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
           422, 'validation_failed', 'an unknown format: 422');
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

# --- import: a round trip of our own CSV and JSON -----------------------------

sub import {
    my ($who, $query, $body, $type, %o) = @_;
    return $ws->api($who, POST => "/api/v1/projects/import?$query",
                    body => $body,
                    headers => { 'Content-Type' => $type }, %o);
}

sub board {
    my ($project_id) = @_;
    my $d = $ws->api($admin, GET => "/api/v1/projects/$project_id/export")
        ->{json};
    # what a task is, apart from its project's key and its timestamps
    for my $t (@{ $d->{tasks} }) {
        $t->{key} =~ s/^[A-Z0-9]+-//;
        $t->{parent_key} =~ s/^[A-Z0-9]+-// if defined $t->{parent_key};
        delete @$t{qw(created_at)};
        # CSV has whole seconds
        $t->{completed_at} = substr $t->{completed_at}, 0, 19
            if defined $t->{completed_at};
    }
    return $d;
}

my $csv = $ws->api($carl, GET => "/api/v1/projects/$pid/export?format=csv")
    ->{body};
$r = import($pam, 'key=COPY&name=Copy%20of%20vulns', $csv, 'text/csv');
is($r->{status}, 201, 'CSV import: 201') or diag $r->{body};
like($r->{headers}{location} // '', qr{^/api/v1/projects/[0-9a-f-]{36}$},
     '... with Location');
is($r->{json}{project}{key}, 'COPY', '... the key asked for');
is($r->{json}{project}{name}, 'Copy of vulns', '... and the name');
is($r->{json}{imported}{tasks}, 4, '... every task');
my $copy = $r->{json}{project}{id};

my $orig = board($pid);
my $back = board($copy);
is_deeply($back->{tasks}, $orig->{tasks},
          'export, import, export: the same tasks (columns, assignees, '
          . 'labels, dates, parents, custom fields, guarded formulas)')
    or diag explain [$back->{tasks}, $orig->{tasks}];

$r = $ws->api($admin, GET => "/api/v1/projects/$pid/export");
$r = import($admin, 'key=JCOPY', $r->{body}, 'application/json');
is($r->{status}, 201, 'JSON export re-imported: 201') or diag $r->{body};
is($r->{json}{project}{name}, 'Vulnerabilities',
   "... named as the exported project");
is_deeply([ map { $_->{name} } @{ $r->{json}{project} ? board(
              $r->{json}{project}{id})->{columns} : [] } ],
          ['Backlog', 'To Do', 'In Progress', 'Review', 'Done'],
          '... with every column, empty ones too');
is_deeply(board($r->{json}{project}{id})->{tasks}, $orig->{tasks},
          '... and the same tasks');

# the board works afterwards: a new task gets the next key
$r = $ws->api($carl, POST => "/api/v1/projects/$copy/tasks",
              json => { title => 'After the import' });
is($r->{json}{key}, 'COPY-5', 'a task added after the import: the next key');
$r = $ws->api($carl, GET => "/api/v1/projects/$copy/kanban");
is($r->{status}, 200, '... the board reads');

# --- a Trello board ---------------------------------------------------------

my $trello = Kanban::Test::read_file("$Kanban::Test::ROOT/t/data/trello-board.json");
$r = import($pam, 'key=WEB', $trello, 'application/json');
is($r->{status}, 201, 'Trello import: 201') or diag $r->{body};
is($r->{json}{project}{name}, 'Website relaunch', "... the board's name");
is_deeply($r->{json}{imported},
          { columns => 4, tasks => 5, skipped_cards => 2,
            unmatched_assignees => [] },
          '... 4 open lists, 5 open cards; archived ones skipped');
my $web = board($r->{json}{project}{id});
is_deeply([ map { [$_->{name}, $_->{category}] } @{ $web->{columns} } ],
          [ ['To Do', 'todo'], ['Doing', 'in_progress'],
            ['Review', 'review'], ['Done', 'done'] ],
          '... lists in their order, closed ones left out, categories guessed');
my %wt = map { $_->{title} => $_ } @{ $web->{tasks} };
is_deeply([ map { $_->{title} } grep { $_->{column} eq 'To Do' }
            @{ $web->{tasks} } ],
          ['Draft the FAQ', 'Write the About page'],
          '... cards in their order within a list');
is($wt{'Write the About page'}{due_date}, '2026-11-20', '... due dates');
is($wt{'Write the About page'}{description},
   "Tone: friendly.\nInclude the team photo.", '... descriptions');
is_deeply($wt{'Write the About page'}{labels}, ['content'], '... labels');
is_deeply($wt{'Fix broken footer links'}{labels}, ['bug', 'yellow'],
          "... a label without a name by its colour");
is($wt{'Fix broken footer links'}{start_date}, '2026-10-28', '... starts');
is_deeply($wt{'New hero illustration'}{labels}, ['design'],
          '... labels by idLabels when a card has no labels of its own');
ok($wt{'Set up analytics'}{completed_at}, '... a card in Done is completed');
ok(!$wt{'Old banner (archived)'} && !$wt{'Idea on a closed list'},
   '... no archived card, none of a closed list');

$r = import($pam, 'key=WEB2&name=Relaunch', $trello, 'application/json');
is($r->{json}{project}{name}, 'Relaunch', '?name= wins over the board name');

# --- refusals ---------------------------------------------------------------

my $projects = sub {
    $ws->dbh->selectrow_array('SELECT count(*) FROM projects') };
my $tasks = sub { $ws->dbh->selectrow_array('SELECT count(*) FROM tasks') };
my ($np, $nt) = ($projects->(), $tasks->());

problem_is(import($pam, 'key=WEB', $trello, 'application/json'), 409,
           'already_exists', 'a key that is taken: 409');
problem_is(import($carl, 'key=CARL', $trello, 'application/json'), 403,
           'forbidden', 'a contributor: 403');
problem_is(import(undef, 'key=NOBODY', $trello, 'application/json'), 401,
           'unauthorized', 'no token: 401');
problem_is(import($pam, 'name=x', $trello, 'application/json'), 422,
           'validation_failed', 'no key: 422');
problem_is(import($pam, 'key=1X', $trello, 'application/json'), 422,
           'validation_failed', 'a malformed key: 422');
problem_is(import($pam, 'key=BAD', '{"cards": [', 'application/json'), 400,
           'bad_request', 'not JSON: 400');
problem_is(import($pam, 'key=BAD', '{"hello": 1}', 'application/json'), 422,
           'validation_failed', 'JSON that is no board: 422');
problem_is(import($pam, 'key=BAD', '', 'text/csv'), 422,
           'validation_failed', 'an empty body: 422');
problem_is(import($pam, 'key=BAD', 'title', 'text/plain'), 415,
           'unsupported_media_type', 'another media type: 415');
problem_is(import($pam, 'key=BAD', "title\r\n\xff\xfe\r\n", 'text/csv'), 400,
           'bad_request', 'CSV that is not UTF-8: 400');
problem_is(import($pam, 'key=BAD', "name,desc\r\nx,y\r\n", 'text/csv'), 422,
           'validation_failed', 'CSV without a title column: 422');

# a bad row anywhere: nothing at all is left
my $bad = "title,column,due_date,priority\r\n"
        . "Fine,To Do,2026-01-01,low\r\n"
        . "Also fine,Done,,high\r\n"
        . "Broken,To Do,next tuesday,low\r\n";
$r = import($pam, 'key=ATOMIC', $bad, 'text/csv');
problem_is($r, 422, 'validation_failed', 'a CSV with a bad date: 422');
like($r->{json}{detail} // '', qr/row 4\b.*due_date/,
     '... naming the row and the field') or diag $r->{json}{detail};
$r = import($pam, 'key=ATOMIC',
            "title,priority\r\nok,low\r\n\"fine\",whenever\r\n", 'text/csv');
like($r->{json}{detail} // '', qr/row 3\b.*priority/, '... a bad priority');
$r = import($pam, 'key=ATOMIC', "title,labels\r\nok,\"a\r\nb\"\r\n\"x\"y\r\n",
            'text/csv');
problem_is($r, 422, 'validation_failed', 'malformed CSV: 422');
like($r->{json}{detail} // '', qr/row 3\b/, '... naming the row')
    or diag $r->{json}{detail};
$r = import($pam, 'key=ATOMIC', "title,x\r\nok,1,2\r\n", 'text/csv');
like($r->{json}{detail} // '', qr/row 2\b.*more fields/,
     'a row longer than the header: 422');
$r = import($pam, 'key=ATOMIC',
            "key,title,parent_key\r\nA-1,one,A-9\r\n", 'text/csv');
like($r->{json}{detail} // '', qr/row 2\b.*parent_key A-9/,
     'a parent that is not in the file: 422');
$r = import($pam, 'key=ATOMIC',
            "key,title,parent_key\r\nA-1,one,A-2\r\nA-2,two,A-1\r\n",
            'text/csv');
problem_is($r, 422, 'validation_failed', 'parents in a circle: 422');
like($r->{json}{detail} // '', qr/own ancestor/, '... said so');
$r = import($pam, 'key=ATOMIC', "title\r\n" . ("x" x 501) . "\r\n",
            'text/csv');
like($r->{json}{detail} // '', qr/row 2\b.*title/, 'a title too long: 422');

my $board = JSON::XS->new->decode($trello);
$board->{cards}[1]{due} = 'someday';
$r = import($pam, 'key=ATOMIC', JSON::XS->new->encode($board),
            'application/json');
problem_is($r, 422, 'validation_failed', 'a Trello card with a bad due: 422');
like($r->{json}{detail} // '', qr/card 2 \(Fix broken footer links\)/,
     '... naming the card') or diag $r->{json}{detail};

$board = JSON::XS->new->decode($trello);
$board->{cards} = [ map { +{ name => "Card $_", idList => 'list-todo',
                             closed => JSON::XS::false() } } 1 .. 5001 ];
problem_is(import($pam, 'key=ATOMIC', JSON::XS->new->encode($board),
                  'application/json'),
           422, 'validation_failed', '5,001 cards: 422');
problem_is(import($pam, 'key=ATOMIC',
                  "title\r\n" . join('', map { "t$_\r\n" } 1 .. 5001),
                  'text/csv'),
           422, 'validation_failed', '5,001 rows: 422');
problem_is(import($pam, 'key=ATOMIC', '{"cards": [], "x": "'
                  . ('y' x (5 * 1024 * 1024)) . '"}', 'application/json'),
           413, 'payload_too_large', 'over 5 MB: 413');

is($projects->(), $np, 'no refused import left a project');
is($tasks->(), $nt, '... nor a task');
is($ws->dbh->selectrow_array(q{SELECT count(*) FROM projects
                                WHERE key = 'ATOMIC'}), 0,
   '... ATOMIC is free');

# 5,000 cards do
$board->{cards} = [ map { +{ name => "Card $_", idList => 'list-todo',
                             closed => JSON::XS::false(), pos => $_ } }
                    1 .. 5000 ];
$r = import($pam, 'key=MANY', JSON::XS->new->encode($board),
            'application/json', timeout => 60);
is($r->{status}, 201, '5,000 cards: 201') or diag $r->{body};
is($r->{json}{imported}{tasks}, 5000, '... all of them');
$r = $ws->api($pam, GET => "/api/v1/projects/$r->{json}{project}{id}/tasks"
              . '?limit=200&q=Card%204999');
is(scalar @{ $r->{json}{items} // [] }, 1, '... each a task');

# unknown people are reported, not fatal
$r = import($pam, 'key=PEOPLE',
            "title,assignees\r\nx,carl\@$ws->{slug}.example; ghost\@nowhere\r\n",
            'text/csv');
is($r->{status}, 201, 'assignees by email: 201') or diag $r->{body};
is_deeply($r->{json}{imported}{unmatched_assignees}, ['ghost@nowhere'],
          '... one nobody here has');
my $pt = board($r->{json}{project}{id})->{tasks}[0];
is_deeply($pt->{assignees}, ["carl\@$ws->{slug}.example"],
          '... the one found is assigned');

# the other workspace: its own projects only
$r = $other->api($other->admin, POST => '/api/v1/projects/import?key=WEB',
                 body => $trello,
                 headers => { 'Content-Type' => 'application/json' });
is($r->{status}, 201, "another workspace may use the same key");
is($ws->dbh->selectrow_array(q{SELECT count(*) FROM projects
                                WHERE key = 'WEB'}), 1,
   '... in its own database');

Kanban::Test->done_testing;
