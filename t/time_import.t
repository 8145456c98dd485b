#!/usr/bin/perl

# Moving in (issue 25): time entries imported from the CSV exports of
# Toggl Track, Clockify and Kimai, in their real column shapes (a BOM,
# start and end times kept in the workspace's time zone,
# quoted cells with commas and quotes, their own date and duration
# formats), matched to people by email or name and to projects by name or
# key; all or nothing, every bad row named; people import their own rows
# and admins anyone's; the rules of any entry (24 hours a day, locked
# weeks) counted with the file's own rows.

use strict;
use warnings;
use utf8;

use Test::More;
use Kanban::Test qw(made problem_is);

my $t = Kanban::Test->new->run;
my $ws = $t->workspace(prefix => 'imp');
my $dbh = $ws->dbh;

my $admin = $ws->admin;
my $dan = $ws->member('Dan Dee');
my $eve = $ws->member('Eve Ewe');

sub api { $ws->api(@_) }

my $web = made(api($admin, POST => '/api/v1/projects',
                   json => { key => 'WEB', name => 'Website' }), 'project');
made(api($admin, POST => '/api/v1/projects',
         json => { key => 'OPS', name => 'Operations' }), 'project');

sub import_csv {
    my ($who, $source, $csv) = @_;
    return api($who, POST => "/api/v1/timesheets/import?source=$source",
               body => $csv, headers => { 'Content-Type' => 'text/csv' });
}

sub entries_of {
    my ($who) = @_;
    return $dbh->selectall_arrayref(q{
        SELECT date::text, minutes, billable, description,
               (SELECT key FROM projects p WHERE p.id = e.project_id)
          FROM time_entries e WHERE user_id = ? ORDER BY date, minutes},
        undef, $who->{id});
}

# each entry's start and end in UTC, as "YYYY-MM-DD HH:MI"
sub times_of {
    my ($who) = @_;
    return $dbh->selectall_arrayref(q{
        SELECT to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'),
               to_char(ended_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI')
          FROM time_entries WHERE user_id = ? ORDER BY date, minutes},
        undef, $who->{id});
}

my $crlf = "\r\n";

# --- Toggl Track: detailed report ------------------------------------------

my $toggl = "\x{feff}" . join($crlf,
    'User,Email,Client,Project,Task,Description,Billable,Start date,Start time,End date,End time,Duration,Tags,Amount (USD)',
    "Dan Dee,$dan->{email},Acme,Website,,\"Review, \"\"final\"\"\",Yes,2026-11-02,09:00:00,2026-11-02,10:30:00,01:30:00,,",
    "Dan Dee,$dan->{email},Acme,,,Email,No,2026-11-03,14:00:00,2026-11-03,14:20:00,00:20:00,,",
    '') ;
utf8::encode($toggl);

problem_is(import_csv($dan, 'harvest', $toggl), 400, 'bad_request',
           'an unknown source is 400');
problem_is(import_csv($dan, 'clockify', $toggl), 422, 'validation_failed',
           'a Toggl file as Clockify\'s: its header lacks the columns');
my $r = made(import_csv($dan, 'toggl', $toggl), 'toggl');
is($r->{imported}, 2, 'Toggl: two entries');
is($r->{minutes}, 110, '... of 110 minutes');
is_deeply(entries_of($dan),
          [['2026-11-02', 90, 1, 'Review, "final"', 'WEB'],
           ['2026-11-03', 20, 0, 'Email', undef]],
          '... quoted cells, Yes/No, H:MM:SS, the project by name, none');
is_deeply(times_of($dan),
          [['2026-11-02 09:00', '2026-11-02 10:30'],
           ['2026-11-03 14:00', '2026-11-03 14:20']],
          '... their start and end times kept (the workspace in UTC)');

# --- Clockify: detailed report ---------------------------------------------

my $clockify = join($crlf,
    'Project,Client,Description,Task,User,Group,Email,Tags,Billable,Start Date,Start Time,End Date,End Time,Duration (h),Duration (decimal),Billable Rate (USD),Billable Amount (USD)',
    "OPS,,Patching,,Eve Ewe,,$eve->{email},,Yes,11/04/2026,08:00:00 AM,11/04/2026,10:15:00 AM,02:15:00,2.25,100.00,225.00",
    "Website,,\"Line one\nline two\",,Eve Ewe,,,,No,11/05/2026,09:00:00 AM,11/05/2026,09:45:00 AM,00:45:00,0.75,0.00,0.00",
    '');
problem_is(import_csv($eve, 'clockify', $clockify =~ s/Eve Ewe,,,/Dan Dee,,,/r),
           422, 'validation_failed', 'someone else\'s rows: only admins');
$r = made(import_csv($eve, 'clockify', $clockify), 'clockify');
is($r->{imported}, 2, 'Clockify: two entries');
is_deeply(entries_of($eve),
          [['2026-11-04', 135, 1, 'Patching', 'OPS'],
           ['2026-11-05', 45, 0, "Line one\nline two", 'WEB']],
          '... MM/DD/YYYY, decimal hours, the project by key, a person by name');
is_deeply(times_of($eve),
          [['2026-11-04 08:00', '2026-11-04 10:15'],
           ['2026-11-05 09:00', '2026-11-05 09:45']],
          '... 12-hour times with AM/PM kept');

# --- Kimai: timesheet export -----------------------------------------------

my $kimai = join("\n",
    'Date,From,To,Duration,Rate,Internal rate,User,Name,E-mail,Customer,Project,Activity,Description,Exported,Billable,Tags,Hourly rate,Fixed rate',
    "06.11.2026,09:00,12:30,3:30,280,0,dan,Dan Dee,$dan->{email},Acme,Website,Development,Checkout,No,Yes,,80,",
    "2026-11-09,13:00,14:00,1:00,0,0,eve,Eve Ewe,$eve->{email},Acme,Operations,Support,,No,No,,0,",
    '');
$r = made(import_csv($admin, 'kimai', $kimai), 'kimai');
is($r->{imported}, 2, 'Kimai: an admin imports two people\'s rows');
is_deeply([map { "$_->{name} $_->{entries} $_->{minutes}" } @{ $r->{people} }],
          ['Dan Dee 1 210', 'Eve Ewe 1 60'], '... each person\'s');
is($dbh->selectrow_array(q{SELECT minutes FROM time_entries
    WHERE user_id = ? AND date = '2026-11-06'}, undef, $dan->{id}), 210,
   '... DD.MM.YYYY and H:MM');
is_deeply($dbh->selectrow_arrayref(q{SELECT
    to_char(started_at AT TIME ZONE 'UTC', 'HH24:MI'),
    to_char(ended_at AT TIME ZONE 'UTC', 'HH24:MI') FROM time_entries
    WHERE user_id = ? AND date = '2026-11-06'}, undef, $dan->{id}),
    ['09:00', '12:30'], '... From and To kept');

# --- bad rows: all named, nothing kept --------------------------------------

my $before = $dbh->selectrow_array('SELECT count(*) FROM time_entries');
my $bad = join($crlf,
    'User,Email,Client,Project,Task,Description,Billable,Start date,Start time,End date,End time,Duration,Tags,Amount (USD)',
    "Dan Dee,$dan->{email},,Website,,ok,Yes,2026-11-10,,,,01:00:00,,",
    "Nobody,nobody\@nowhere.example,,Website,,who,No,2026-11-10,,,,01:00:00,,",
    "Dan Dee,$dan->{email},,Moonshot,,what,No,2026-11-10,,,,01:00:00,,",
    "Dan Dee,$dan->{email},,,,when,No,2026-02-30,,,,01:00:00,,",
    "Dan Dee,$dan->{email},,,,long,No,2026-11-11,,,,25:00:00,,",
    "Dan Dee,$dan->{email},,,,a,No,2026-11-12,,,,20:00:00,,",
    "Dan Dee,$dan->{email},,,,b,No,2026-11-12,,,,05:00:00,,",
    '');
$r = import_csv($admin, 'toggl', $bad);
problem_is($r, 422, 'validation_failed', 'bad rows: 422');
my $detail = $r->{json}{detail};
like($detail, qr/^Nothing was imported\./, '... nothing imported');
like($detail, qr/row 3: nobody here has the email nobody\@nowhere\.example/,
     '... an unknown person named by row');
like($detail, qr/row 4: no project is named "Moonshot"/, '... an unknown project');
like($detail, qr/row 5: "2026-02-30" is not a date/, '... a date that is none');
like($detail, qr/row 6: the duration "25:00:00"/, '... a duration past a day');
like($detail, qr/row 8: 2026-11-12 would hold more than 24 hours/,
     '... the file\'s own rows counted against the day');
unlike($detail, qr/row 2:|row 7:/, '... and the good rows not named');
is($dbh->selectrow_array('SELECT count(*) FROM time_entries'), $before,
   '... and not one row kept');

problem_is(import_csv($dan, 'toggl', qq{User,Email,Start date,Duration\r\nDan,"unclosed,2026-11-02,01:00:00\r\n}),
           422, 'validation_failed', 'a quote not closed: not CSV');
problem_is(import_csv($dan, 'kimai', "Date,Duration\n"), 422,
           'validation_failed', 'a header without a person column');
problem_is(import_csv($dan, 'toggl', "User,Email,Start date,Duration\r\n"),
           422, 'validation_failed', 'no rows');

# a locked week
made(api($dan, POST => '/api/v1/timesheets/weekly/submit',
         json => { week => '2026-W45' }), 'submit');
$r = import_csv($dan, 'toggl', join($crlf,
    'User,Email,Project,Description,Billable,Start date,Duration',
    "Dan Dee,$dan->{email},,late,No,2026-11-04,00:30:00", ''));
problem_is($r, 422, 'validation_failed', 'a row in a submitted week');
like($r->{json}{detail}, qr/row 2: the week 2026-W45 is submitted/,
     '... named with its week');

# --- times in the workspace's time zone; a night's work; bad times -----------

made(api($admin, PATCH => '/api/v1/workspace',
         json => { time_zone => 'Europe/Berlin' }), 'Berlin');
$r = made(import_csv($admin, 'kimai', join("\n",
    'Date,From,To,Duration,User,E-mail,Project,Description',
    "2026-11-20,22:00,02:00,4:00,eve,$eve->{email},Operations,Night shift",
    '')), 'night');
is_deeply($dbh->selectrow_arrayref(q{SELECT
    to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'),
    to_char(ended_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI')
    FROM time_entries WHERE user_id = ? AND date = '2026-11-20'},
    undef, $eve->{id}), ['2026-11-20 21:00', '2026-11-21 01:00'],
    'Berlin\'s 22:00 to 02:00: the end on the next day, stored as instants');

$before = $dbh->selectrow_array('SELECT count(*) FROM time_entries');
$r = import_csv($admin, 'toggl', join($crlf,
    'User,Email,Project,Description,Billable,Start date,Start time,End date,End time,Duration',
    "Dan Dee,$dan->{email},,ok,No,2026-11-23,09:00:00,2026-11-23,10:00:00,01:00:00",
    "Dan Dee,$dan->{email},,bad start,No,2026-11-23,7:75,2026-11-23,10:00:00,01:00:00",
    "Dan Dee,$dan->{email},,bad end,No,2026-11-23,09:00:00,2026-11-23,noon,01:00:00",
    "Dan Dee,$dan->{email},,backwards,No,2026-11-24,09:00:00,2026-11-23,10:00:00,01:00:00",
    "Dan Dee,$dan->{email},,no end date,No,2026-11-25,09:00:00,31.13.2026,10:00:00,01:00:00",
    ''));
problem_is($r, 422, 'validation_failed', 'bad times: 422');
$detail = $r->{json}{detail};
like($detail, qr/row 3: the start "7:75" is not a time of day/,
     '... a start that is no time named');
like($detail, qr/row 4: the end "noon" is not a time of day/, '... an end');
like($detail, qr/row 5: it ends before it starts/, '... an end before the start');
like($detail, qr/row 6: the end date "31\.13\.2026" is not a date/,
     '... an end date that is none');
is($dbh->selectrow_array('SELECT count(*) FROM time_entries'), $before,
   '... and nothing kept');

$t->done_testing;
