#!/usr/bin/perl

# Quotas: the limits of a workspace's plan (max_users, max_storage_bytes,
# api_rate), set in the catalog by an operator and enforced on the
# workspace's host. Each write that would pass a limit is 403
# quota_exceeded naming it, and nothing is stored; below it the write
# passes; two writes at limit - 1 at once do not both pass; the admin sees
# usage against the limits; a change of a limit takes effect within the
# tenant cache's ttl.

use strict;
use warnings;

use Test::More;
use Kanban::Test qw(problem_is);
use Kanban::Operator;

my $t = Kanban::Test->new(ttl => '1s')->run;

my $ws = $t->workspace(prefix => 'quota');
my $slug = $ws->slug;
my $dbh = $ws->dbh;
my $at = $ws->admin->{token};
my $serial = 0;

# What an operator's PATCH stores; the workspace learns it at its next
# lookup, within the cache's ttl.
sub limits {
    my (%l) = @_;
    $t->catalog->do(q{UPDATE tenants SET plan = ?, max_users = ?,
                      max_storage_bytes = ?, api_rate = ? WHERE slug = ?},
                    undef, $l{plan} // 'free', $l{max_users},
                    $l{max_storage_bytes}, $l{api_rate}, $slug);
    select undef, undef, undef, 1.2;
}

sub active_users {
    return $dbh->selectrow_array(
        q{SELECT count(*) FROM users WHERE status = 'active'});
}

sub new_user {
    my (%o) = @_;
    my $name = 'person' . ++$serial;
    return ($o{send} ? $ws->can('send_api') : $ws->can('api'))->(
        $ws, $at, POST => '/api/v1/users', json => {
            email => "$name\@$slug.example", name => $name,
            ($o{invite} ? () : (password => 'a long enough passphrase')) });
}

sub quota_is {
    my ($r, $limit, $max, $used, $name) = @_;
    problem_is($r, 403, 'quota_exceeded', $name) or return;
    is($r->{json}{limit}, $limit, "... naming $limit");
    is($r->{json}{max}, $max, "... its value $max");
    is($r->{json}{used}, $used, "... and the usage $used");
}

sub usage { $ws->api($at, GET => '/api/v1/workspace/usage') }

# --- no limits ---------------------------------------------------------------

my $r = usage();
is($r->{status}, 200, 'usage: 200');
is_deeply([ @{ $r->{json} }{qw(plan)} ], ['free'], '... the plan');
is_deeply($r->{json}{users}, { used => 1, limit => undef },
          '... one person, no limit');
is_deeply($r->{json}{storage_bytes}, { used => 0, limit => undef },
          '... no bytes, no limit');
is_deeply($r->{json}{api_rate}, { limit => undef }, '... no API rate');

my $carl = $ws->member('Carl');
problem_is($ws->api($carl, GET => '/api/v1/workspace/usage'), 403,
           'forbidden', 'usage is for admins');

# --- max_users ---------------------------------------------------------------

limits(plan => 'team', max_users => 4);

is_deeply(usage()->{json}{users}, { used => 2, limit => 4 },
          'usage: 2 of 4 people');
is(new_user()->{status}, 201, 'below the limit: a user is created');
is(active_users(), 3, '... 3 active');

# two at once at limit - 1: one passes, one is refused
my @conns = map { new_user(send => 1) } 1 .. 2;
Kanban::Test::wait_all(\@conns, 30);
my @got = sort map { $_->response->{status} } @conns;
is_deeply(\@got, [201, 403], 'two creations at limit - 1 at once: one passes');
is(active_users(), 4, '... 4 active, not 5');

my $before = $dbh->selectrow_array('SELECT count(*) FROM users');
quota_is(new_user(), 'max_users', 4, 4, 'a fifth person: 403 quota_exceeded');
is($dbh->selectrow_array('SELECT count(*) FROM users'), $before,
   '... and no user row was made');

# an invitation adds no active person; its acceptance would
$r = new_user(invite => 1);
is($r->{status}, 201, 'an invitation at the limit: 201 (invited, not active)');
my $ivy = $r->{json};
quota_is($t->req(POST => '/api/v1/auth/accept-invite', host => $slug,
                 json => { invite_token => $ivy->{invite_token},
                           password => 'Ivy has a long one too' }),
         'max_users', 4, 4, 'accepting an invitation at the limit: 403');
is($dbh->selectrow_array('SELECT status FROM users WHERE id = ?', undef,
                         $ivy->{id}), 'invited', '... Ivy is still invited');

# open registration
$dbh->do(q{UPDATE settings SET value = 'true' WHERE key = 'open_registration'});
quota_is($t->req(POST => '/api/v1/auth/register', host => $slug,
                 json => { email => "otto\@$slug.example", name => 'Otto',
                           password => 'he likes long passphrases' }),
         'max_users', 4, 4, 'registering at the limit: 403');
ok(!$dbh->selectrow_array('SELECT 1 FROM users WHERE email = ?', undef,
                          "otto\@$slug.example"), '... Otto was not made');

# reactivation
is($ws->api($at, PATCH => "/api/v1/users/$carl->{id}",
            json => { status => 'disabled' })->{status}, 200,
   'disabling Carl frees a place');
is(new_user()->{status}, 201, '... which a new person takes');
quota_is($ws->api($at, PATCH => "/api/v1/users/$carl->{id}",
                  json => { status => 'active' }),
         'max_users', 4, 4, 'reactivating Carl at the limit: 403');
is($dbh->selectrow_array('SELECT status FROM users WHERE id = ?', undef,
                         $carl->{id}), 'disabled', '... Carl stays disabled');

# the limit raised: within the ttl, the refused writes pass
limits(plan => 'team', max_users => 6);
is_deeply(usage()->{json}{users}, { used => 4, limit => 6 },
          'the limit raised: usage 4 of 6');
is($ws->api($at, PATCH => "/api/v1/users/$carl->{id}",
            json => { status => 'active' })->{status}, 200,
   '... Carl is reactivated');
is($t->req(POST => '/api/v1/auth/accept-invite', host => $slug,
           json => { invite_token => $ivy->{invite_token},
                     password => 'Ivy has a long one too' })->{status}, 200,
   '... Ivy accepts her invitation');
quota_is(new_user(), 'max_users', 6, 6, '... and the seventh is refused');

# --- max_storage_bytes -------------------------------------------------------

my $pid = $ws->api($at, POST => '/api/v1/projects',
                   json => { key => 'QUO', name => 'Files' })->{json}{id};
my $tid = $ws->api($at, POST => "/api/v1/projects/$pid/tasks",
                   json => { title => 'A task' })->{json}{id};

sub upload {
    my ($bytes, %o) = @_;
    return ($o{send} ? $ws->can('send_api') : $ws->can('api'))->(
        $ws, $at, POST => "/api/v1/tasks/$tid/attachments?filename=f.bin",
        body => $bytes,
        headers => { 'Content-Type' => 'application/octet-stream' });
}

sub stored {
    return $dbh->selectrow_array(
        'SELECT count(*), coalesce(sum(size), 0) FROM attachments');
}

limits(plan => 'team', max_users => 6, max_storage_bytes => 10000);
is_deeply(usage()->{json}{storage_bytes}, { used => 0, limit => 10000 },
          'usage: 0 of 10000 bytes');

is(upload('a' x 6000)->{status}, 201, 'a file below the limit: 201');
quota_is(upload('b' x 5000), 'max_storage_bytes', 10000, 6000,
         'a file that would pass the limit: 403');
is_deeply([stored()], [1, 6000], '... nothing stored');

# two at once, each would fit alone, not both
@conns = map { upload('c' x 3000, send => 1) } 1 .. 2;
Kanban::Test::wait_all(\@conns, 30);
@got = sort map { $_->response->{status} } @conns;
is_deeply(\@got, [201, 403], 'two uploads at once that fit one: one passes');
is_deeply([stored()], [2, 9000], '... 9000 bytes stored');

is(upload('d' x 1000)->{status}, 201, 'a file that fills it exactly: 201');
is_deeply(usage()->{json}{storage_bytes}, { used => 10000, limit => 10000 },
          'usage: 10000 of 10000 bytes');

limits(plan => 'team', max_users => 6, max_storage_bytes => 20000);
is(upload('e' x 5000)->{status}, 201, 'the limit raised: the file fits');

# --- api_rate ----------------------------------------------------------------

# a second admin, who has asked nothing yet this minute
limits(plan => 'team', max_users => 7, max_storage_bytes => 20000);
my $ada = $ws->api($at, POST => '/api/v1/users', json => {
    email => "ada2\@$slug.example", name => 'Ada Two', role => 'admin',
    password => 'a long enough passphrase' });
is($ada->{status}, 201, 'a second admin') or diag($ada->{body});
my $at2 = $ws->login("ada2\@$slug.example", 'a long enough passphrase')
             ->{token};

limits(plan => 'team', max_users => 7, max_storage_bytes => 20000,
       api_rate => 3);
is_deeply($ws->api($at2, GET => '/api/v1/workspace/usage')->{json}{api_rate},
          { limit => 3 }, 'usage: the plan\'s API rate');
# the first admin asked dozens of times this minute: over the plan's rate
# at once, on every node (t/plan_rate_cluster.t)
problem_is(usage(), 429, 'rate_limited',
           'someone already past the plan\'s rate this minute: 429');

# the usage call above was one; a fresh member has their own bucket
my $cleo = $ws->login("person1\@$slug.example", 'a long enough passphrase');
my @statuses = map { $ws->api($cleo, GET => '/api/v1/projects')->{status} }
               1 .. 5;
is_deeply(\@statuses, [200, 200, 200, 429, 429],
          'a person gets the plan\'s 3 requests a minute, then 429');
is($ws->api($carl, GET => '/api/v1/projects')->{status}, 200,
   '... another person has their own');

limits(plan => 'team', max_users => 7, max_storage_bytes => 20000);
is($ws->api($cleo, GET => '/api/v1/projects')->{status}, 200,
   'the plan\'s rate removed: the installation\'s rate again');

# --- an operator's change applies at once ------------------------------------

# a tenant cache of 60 s: the console's change must not wait for it
my $t60 = Kanban::Test->new(ttl => '60s')->run;
my $op = Kanban::Operator->new($t60);
my $ws60 = $t60->workspace(prefix => 'quota60');
my $at60 = $ws60->admin->{token};
my $add = sub {
    my ($name) = @_;
    return $ws60->api($at60, POST => '/api/v1/users', json => {
        email => "$name\@" . $ws60->slug . '.example', name => $name,
        password => 'a long enough passphrase' });
};
is($add->('first')->{status}, 201, 'no limits: a user is created');

$r = $op->api(PATCH => '/api/v1/platform/workspaces/' . $ws60->slug,
              json => { plan => 'small', limits => { max_users => 2 } });
is($r->{status}, 200, 'an operator sets max_users 2') or diag($r->{body});
quota_is($add->('second'), 'max_users', 2, 2,
         '... the next user is refused at once, not after the cache\'s ttl');
is_deeply($ws60->api($at60, GET => '/api/v1/workspace/usage')->{json}{users},
          { used => 2, limit => 2 }, '... usage 2 of 2');

$r = $op->api(PATCH => '/api/v1/platform/workspaces/' . $ws60->slug,
              json => { limits => { max_users => 3 } });
is($r->{status}, 200, 'the operator raises it to 3');
is($add->('third')->{status}, 201, '... a user is created at once');

$t->done_testing;
