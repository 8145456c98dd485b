#!/usr/bin/perl

# Passwords that contain what an attacker tries first are refused with a
# 422 (validation_failed, the field's code guessable): the workspace's
# slug or name, or the local part of the person's email, case aside; at
# sign-up, on creating a user, at open registration, at accepting an
# invitation, on changing one's password and when an admin sets another's
# (the person's email from their account or invitation, when the body has
# none). Words shorter than three characters do not count.

use strict;
use warnings;

use Test::More;
use Kanban::Test qw(problem_is error_for);

my $t = Kanban::Test->new->run;

sub guessable {
    my ($r, $field, $name) = @_;
    problem_is($r, 422, 'validation_failed', $name);
    my $e = error_for($r, $field);
    is($e && $e->{code}, 'guessable', "... guessable on $field");
    like($e && $e->{message}, qr/workspace's name or address, or your email/,
         '... saying why');
}

# --- sign-up: the new workspace's slug and name, the admin's email ----------

my $slug = Kanban::Test::unique_slug('pwsignup');
sub signup {
    my (%o) = @_;
    return $t->req(POST => '/api/v1/tenants', json => {
        slug => $slug, name => 'Zephyrine Logistics',
        admin => { email => 'olga.petrova@example.com', name => 'Olga',
                   password => 'a fine long passphrase', %o } });
}

guessable(signup(password => "my $slug is the best"), 'admin.password',
          'sign-up: the slug in the password');
guessable(signup(password => 'ZEPHYRINE LOGISTICS rules'), 'admin.password',
          "sign-up: the workspace's name, upper case");
guessable(signup(password => 'hello olga.petrova 2026'), 'admin.password',
          "sign-up: the email's local part");
is(signup()->{status}, 201, 'sign-up with a password of its own: 201');

# --- in a workspace ------------------------------------------------------------

my $ws = $t->workspace(prefix => 'pw');
my $admin = $ws->admin;
my $ws_slug = $ws->slug;
my ($ws_name) = $t->catalog->selectrow_array(
    'SELECT name FROM tenants WHERE slug = ?', undef, $ws_slug);

sub create {
    my ($password) = @_;
    return $ws->api($admin, POST => '/api/v1/users', json => {
        email => "Bartholomew\@$ws_slug.example", name => 'Bart',
        password => $password });
}

guessable(create("x $ws_slug x long enough"), 'password',
          "a new user: the workspace's slug");
guessable(create(lc($ws_name) . ' and more'), 'password',
          "a new user: the workspace's name");
guessable(create('i am bartholomew, hello'), 'password',
          "a new user: the email's local part, case aside");
my $r = create('a quite different passphrase');
is($r->{status}, 201, 'a new user with a password of their own: 201');

# short words never count: "al" of al@
$r = $ws->api($admin, POST => '/api/v1/users', json => {
    email => "al\@$ws_slug.example", name => 'Al',
    password => 'totally normal passphrase' });
is($r->{status}, 201, 'a two-letter local part does not count: 201');

# changing one's password: the email from the account
my $bart = $ws->login("Bartholomew\@$ws_slug.example",
                      'a quite different passphrase');
$r = $ws->api($bart, POST => '/api/v1/auth/password', json => {
    current_password => 'a quite different passphrase',
    new_password => 'BARTHOLOMEW forever and ever' });
guessable($r, 'new_password', "a password change: one's own email");
$r = $ws->api($bart, POST => '/api/v1/auth/password', json => {
    current_password => 'a quite different passphrase',
    new_password => "on $ws_slug since today" });
guessable($r, 'new_password', "a password change: the workspace's slug");
$r = $ws->api($bart, POST => '/api/v1/auth/password', json => {
    current_password => 'a quite different passphrase',
    new_password => 'yet another fine passphrase' });
is($r->{status}, 204, 'a password of his own: 204');

# an invitation: the workspace's words
$r = $ws->api($admin, POST => '/api/v1/users', json => {
    email => "ivy\@$ws_slug.example", name => 'Ivy' });
is($r->{status}, 201, 'an invitation');
$r = $ws->api(undef, POST => '/api/v1/auth/accept-invite', json => {
    invite_token => $r->{json}{invite_token},
    password => "welcome to $ws_slug" });
guessable($r, 'password', "accepting an invitation: the workspace's slug");

# ... and the invited person's email, which only the invitation knows
$r = $ws->api($admin, POST => '/api/v1/users', json => {
    email => "Evangeline.Moss\@$ws_slug.example", name => 'Eve' });
my $token = $r->{json}{invite_token};
$r = $ws->api(undef, POST => '/api/v1/auth/accept-invite', json => {
    invite_token => $token, password => 'evangeline.moss says hi' });
guessable($r, 'password', "accepting an invitation: the invitee's email");
$r = $ws->api(undef, POST => '/api/v1/auth/accept-invite', json => {
    invite_token => $token, password => 'a password of her very own' });
is($r->{status}, 200, '... and with a password of her own: 200');

# an admin setting another's password: that person's email, from the account
my ($bart_id) = $ws->dbh->selectrow_array(
    'SELECT id FROM users WHERE lower(email) = lower(?)', undef,
    "Bartholomew\@$ws_slug.example");
$r = $ws->api($admin, PATCH => "/api/v1/users/$bart_id", json => {
    password => 'Bartholomew reset by admin' });
guessable($r, 'password', "an admin sets a password: the person's email");
$r = $ws->api($admin, PATCH => "/api/v1/users/$bart_id", json => {
    password => "reset on $ws_slug today" });
guessable($r, 'password', "an admin sets a password: the workspace's slug");
$r = $ws->api($admin, PATCH => "/api/v1/users/$bart_id", json => {
    email => "bart.new\@$ws_slug.example", password => 'hello bart.new 42' });
guessable($r, 'password', '... and the new email when the body changes it');
$r = $ws->api($admin, PATCH => "/api/v1/users/$bart_id", json => {
    password => 'a freshly chosen passphrase' });
is($r->{status}, 200, '... one of his own: 200');
is($ws->login("Bartholomew\@$ws_slug.example",
              'a freshly chosen passphrase') ? 1 : 0, 1,
   '... and he signs in with it');

$t->done_testing;
