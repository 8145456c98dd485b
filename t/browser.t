#!/usr/bin/perl

# The browser tests: an nginx of this file's own (Kanban::Test, against
# t/run's PostgreSQL and Redis), a workspace with a project, tasks and
# share links made through the API, then t/browser/*.test.mjs in node's
# test runner, driving Debian's Chromium headless through playwright-core.
# Each of their tests is one line of TAP here.
#
# Chromium, node and npm come from make deps; t/run installs
# t/browser/node_modules (npm ci) when it is missing.

use strict;
use warnings;

use File::Temp qw(tempdir);
use IPC::Run qw(run timeout);
use JSON::XS;
use Test::More;

use lib 't/lib';
use Kanban::Test;
use Kanban::IdP;
use Kanban::SMTP;
use Kanban::TOTP;

my $ROOT = $Kanban::Test::ROOT;
my $CHROMIUM = $ENV{KANBAN_CHROMIUM} // '/usr/bin/chromium';
my $TIMEOUT = $ENV{KANBAN_BROWSER_TIMEOUT} // 1500;   # the whole node run,
                                                    # Chromium's start included
                                                    # (some 30 flows: minutes on
                                                    # a loaded 2-core machine)

my ($node) = grep { -x } map { "$_/node" } split /:/, $ENV{PATH} // '';
plan skip_all => "no node in PATH (make deps installs nodejs)"
    unless $node;
plan skip_all => "no Chromium at $CHROMIUM (make deps installs chromium)"
    unless -x $CHROMIUM;

my @files = sort glob "$ROOT/t/browser/*.test.mjs";
BAIL_OUT('no t/browser/*.test.mjs') unless @files;

unless (-e "$ROOT/t/browser/node_modules/playwright-core/package.json") {
    fail('playwright-core is installed');
    diag("t/browser/node_modules is missing: npm ci --prefix t/browser "
         . "(t/run does it)");
    Kanban::Test::done_testing();
    exit;
}


unless (-e "$ROOT/html/dist/shared.html") {
    fail('the web UI is built');
    diag('html/dist/shared.html is missing: make ui (make test does it)');
    Kanban::Test::done_testing();
    exit;
}


# Webhooks (Admin -> Webhooks) go to a receiver of the tests' own on
# loopback, soon; the fake identity provider of t/browser/oauth.test.mjs
# is on loopback too.
# Mail (t/browser/mail.test.mjs) goes to a real SMTP server on loopback,
# which writes each message to a directory the browser tests read.
my $smtp = Kanban::SMTP->new;
my $smtp_port = $smtp->port;
my $t = Kanban::Test->new(http => <<"EOF")->run;
kanban_webhooks_allow_private on;
kanban_webhooks_sweep 1s;
kanban_webhooks_backoff 300ms;
kanban_mail_server smtp://127.0.0.1:$smtp_port;
kanban_mail_sweep 300ms;
EOF
my $ws = $t->workspace(prefix => 'br');
my $admin = $ws->admin;
my $carl = $ws->member('Carl Contributor');

sub made {
    my ($r, $what) = @_;
    die "$what: $r->{status} $r->{body}\n" unless $r->{status} =~ /^20[01]$/;
    return $r->{json};
}

my $project = made($ws->api($admin, POST => '/api/v1/projects', json => {
    key => 'SHR', name => 'Shared roadmap',
    description => 'What we tell the auditors.' }), 'project');
my %column = map { $_->{category} => $_ } @{ made($ws->api($admin,
    GET => "/api/v1/projects/$project->{id}/columns"), 'columns')->{items} };

# A title with markup in it: the page must show it as text.
my %task;
for ([ main => 'Patch <b>openssl</b> & "friends"', 'in_progress',
       assignee_ids => [ $carl->{id}, $admin->{id} ],
       labels => [ 'security' ], description => 'Before the audit.' ],
     [ keys => 'Rotate keys', 'todo' ],
     [ book => 'Write the runbook', 'backlog' ],
     [ wall => 'Audit firewall rules', 'todo' ],
     [ done => 'Retire the old VPN', 'done' ])
{
    my ($name, $title, $category, %more) = @$_;
    $task{$name} = made($ws->api($admin,
        POST => "/api/v1/projects/$project->{id}/tasks",
        json => { title => $title, column_id => $column{$category}{id},
                  %more }), "task $title");
}

my $password = 'open sesame 42';
my $task_link = made($ws->api($carl, POST => '/api/v1/share-links',
    json => { task_id => $task{main}{id}, password => $password }),
    'task link');
my $project_link = made($ws->api($admin, POST => '/api/v1/share-links',
    json => { project_id => $project->{id} }), 'project link');
my $revoked = made($ws->api($carl, POST => '/api/v1/share-links',
    json => { task_id => $task{keys}{id} }), 'link to revoke');
is($ws->api($carl, DELETE => "/api/v1/share-links/$revoked->{id}")
       ->{status}, 204, 'a link revoked');

my @columns = sort { $a->{position} <=> $b->{position} } values %column;

# CORS (t/browser/cors.test.mjs): pages of another origin; one is listed
my $listed = 'http://app.localhost:' . $t->port;
is($ws->api($admin, PATCH => '/api/v1/workspace',
            json => { cors_origins => [ $listed ] })->{status}, 200,
   'the workspace lists an origin for CORS');

# OIDC sign-in (t/browser/oauth.test.mjs), in a workspace of its own
my $idp = Kanban::IdP->new(client_id => 'browser', secret => 'browser secret');
my $ows = $t->workspace(prefix => 'bro');
made($ows->api($ows->admin, POST => '/api/v1/auth/providers', json => {
    slug => 'acme', kind => 'oidc', name => 'Acme SSO',
    issuer => $idp->issuer, client_id => 'browser',
    client_secret => 'browser secret' }), 'OIDC provider');
$idp->set(sub => 'browser-admin', email => $ows->admin->{email},
          email_verified => JSON::XS::true());

# The operators' console (t/browser/operators.test.mjs): a setup link,
# as kanbanctl prints it, for the browser to go through.
my $ops_email = "console-$$\@ops.example";
my $ops_out = `$ROOT/conf/kanbanctl operator add '$ops_email' 2>&1`;
my ($ops_token) = $ops_out =~ m{#token=([A-Za-z0-9_-]+)};
ok($ops_token, 'kanbanctl operator add printed a setup link') or diag($ops_out);

# The portal (t/browser/portal.test.mjs): Sam belongs to this workspace
# and to a second one, both taking sign-in links; the catalog's directory
# knows it before the browser starts.
my $pws = $t->workspace(prefix => 'brp', name => 'Portal Two');
my $sam = "sam.switch.$$\@portal.example";
for my $w ($ws, $pws) {
    made($w->api($w->admin, POST => '/api/v1/users', json => {
        email => $sam, name => 'Sam Switch', role => 'contributor',
        password => $Kanban::Test::Workspace::PASSWORD }), 'Sam');
    made($w->api($w->admin, PUT => '/api/v1/auth/sign-in-policy',
                 json => { email_link => JSON::XS::true() }), 'links on');
}
{
    my $deadline = time + 20;
    sleep 1 until time > $deadline || $t->catalog->selectrow_array(
        'SELECT count(*) FROM portal_members m JOIN portal_policies p'
        . ' USING (tenant_id) WHERE p.email_link AND m.address_hash'
        . " = encode(sha256(convert_to(\$1, 'UTF8')), 'hex')",
        undef, lc $sam) == 2;
}

# Admin -> AI's usage (t/browser/app.test.mjs): calls as the gateway
# meters them (sql/tenant/051_ai_gateway.sql), so that its chart has days
$ws->dbh->do(<<'SQL', undef, $admin->{id});
INSERT INTO ai_calls (day, feature, user_id, provider, model, status,
                      input_tokens, output_tokens, latency_ms)
SELECT greatest(workspace_today() - d,
                date_trunc('month', workspace_today())::date),
       f, $1::uuid, 'openai', 'fake-model',
       CASE WHEN d = 1 AND f = 'updates' THEN 'timed_out' ELSE 'completed' END,
       900 + 300 * d, 150 + 20 * d, 400 + 250 * d
  FROM generate_series(0, 3) d, unnest('{insights,updates}'::text[]) f
SQL

# mail: one who resets a password, one who sets preferences
my $rita = $ws->member('Rita Reset');
my $pete = $ws->member('Pete Prefs');
my $mona = $ws->member('Mona Twofactor');

# the workspace's plan has limits (an operator's, in the catalog), so that
# the settings show usage against them; generous enough for every flow
$t->catalog->do(q{UPDATE tenants SET plan = 'team', max_users = 40,
                  max_storage_bytes = 50000000 WHERE slug = ?},
                undef, $ws->slug);

# two-factor policy: a workspace of its own (it changes every sign-in of
# the admins there), its admin enrolled and requiring it of admins, and a
# second admin who has not enrolled: they enrol at sign-in
my $mws = $t->workspace(prefix => 'brm');
my $madmin = $mws->admin;
my $msecret = $mws->api($madmin, POST => '/api/v1/me/mfa/totp',
                        json => { password => $Kanban::Test::Workspace::PASSWORD })->{json}{secret};
$mws->api($madmin, POST => '/api/v1/me/mfa/totp/confirm',
          json => { code => Kanban::TOTP::code($msecret) })->{status} == 200
    or die "the policy workspace's admin does not enrol";
my $nina = "nina\@" . $mws->slug . ".example";
$mws->api($madmin, POST => '/api/v1/users', json => {
    email => $nina, name => 'Nina Newadmin', role => 'admin',
    password => $Kanban::Test::Workspace::PASSWORD })->{status} == 201
    or die 'no Nina';
$mws->api($madmin, PUT => '/api/v1/auth/mfa-policy',
          json => { required => 'admins' })->{status} == 200
    or die 'no policy';

my $fixture = {
    mail => {
        dir => $smtp->dir, reset => $rita->{email}, prefs => $pete->{email},
        password => $Kanban::Test::Workspace::PASSWORD,
        notified => $carl->{email},     # assigned the main task: mailed
    },
    base => 'http://' . $ws->slug . '.localhost:' . $t->port,
    chromium => $CHROMIUM,
    emails => [ $admin->{email}, $carl->{email} ],
    task => {
        code => $task_link->{code}, password => $password,
        title => $task{main}{title}, key => $task{main}{key},
        column => $column{in_progress}{name}, category => 'in_progress',
        project => $project->{name},
        assignees => [ $carl->{name}, $admin->{name} ],
    },
    project => {
        code => $project_link->{code}, name => $project->{name},
        columns => [ map {
            my $c = $_;
            { name => $c->{name},
              tasks => [ map { $_->{title} }
                         grep { $_->{column_id} eq $c->{id} } values %task ] }
        } @columns ],
    },
    revoked => { code => $revoked->{code} },
    oauth => {
        base => 'http://' . $ows->slug . '.localhost:' . $t->port,
        name => 'Acme SSO', user => $ows->admin->{name},
    },
    portal => {
        platform => 'http://localhost:' . $t->port, email => lc $sam,
        one => { base => 'http://' . $ws->slug . '.localhost:' . $t->port,
                 slug => $ws->slug, name => 'Workspace ' . $ws->slug },
        two => { base => 'http://' . $pws->slug . '.localhost:' . $t->port,
                 slug => $pws->slug, name => 'Portal Two' },
    },
    mfa => { email => $mona->{email},
             password => $Kanban::Test::Workspace::PASSWORD },
    mfa_policy => { base => 'http://' . $mws->slug . '.localhost:' . $t->port,
                    email => $nina,
                    password => $Kanban::Test::Workspace::PASSWORD },
    operator => { email => $ops_email, token => $ops_token,
                  workspace => $ws->slug },
    cors => {
        listed => $listed, unlisted => 'http://elsewhere.localhost:' . $t->port,
        token => $admin->{token}, task => $task{wall}{id},
    },
};

my $dir = tempdir('browser-XXXXXX', DIR => $Kanban::Test::TMP,
                  CLEANUP => !$ENV{KANBAN_TEST_LEAVE});
Kanban::Test::write_file("$dir/fixture.json",
                         JSON::XS->new->utf8->canonical->encode($fixture));

local $ENV{KANBAN_BROWSER_FIXTURE} = "$dir/fixture.json";
local $ENV{TMPDIR} = $dir;         # Chromium's profile, playwright's files

# Under make test-clock the server's calendar is moved by libfaketime;
# Chromium stalls under it, and a browser's clock is its user's anyway
# (cookies carry Max-Age, never Expires): the browser keeps the real one.
delete local $ENV{LD_PRELOAD};

my ($out, $err) = ('', '');
my $started = time;
my $ran = eval {
    # KANBAN_BROWSER_ONLY=regex runs only the tests whose names match
    my @only = $ENV{KANBAN_BROWSER_ONLY}
        ? ("--test-name-pattern=$ENV{KANBAN_BROWSER_ONLY}") : ();
    run([ $node, '--test', '--test-reporter=tap', @only, @files ],
        '<', \undef, '>', \$out, '2>', \$err, timeout($TIMEOUT));
    1;
};
my $status = $ran ? $? >> 8 : "killed after ${TIMEOUT}s: $@";

# node's top-level tests as our own lines; the details of a failure are in
# its indented YAML, printed below.
my $seen = 0;
for (split /\n/, $out) {
    next unless /^(not )?ok \d+ - (.*?)(?: # (SKIP|TODO).*)?$/;
    $seen++;
    ok(!$1, "browser: $2");
}
ok($seen, 'the browser tests ran');
is($status, 0, 'node --test ' . join(' ', map { s{.*/t/}{t/}r } @files)
               . ' succeeded')
    or diag("node --test said:\n$out\n$err");
note("node --test took " . (time - $started) . "s");
note("node --test said:\n$out\n$err") if !$status;

Kanban::Test::done_testing();
