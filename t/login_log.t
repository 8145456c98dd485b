#!/usr/bin/perl

# Every sign-in is in the error log (info) with its account and address,
# never its password: succeeded, refused (a wrong password, an unknown
# email) and throttled (warn). An email sent with a newline, quotes or a
# backslash in it is written escaped, on its one line: it cannot forge a
# line of the log (OWASP ASVS 16.3.1, 16.4.1).

use strict;
use warnings;

use Test::More;
use Kanban::Test;

my $t = Kanban::Test->new->run;
my $ws = $t->workspace(prefix => 'loginlog');
my $slug = $ws->slug;
my $email = "admin\@$slug.example";

sub log_text { Kanban::Test::read_file($t->var . '/log/error.log') }

is($ws->try_login($email)->{status}, 200, 'a sign-in');
is($ws->try_login($email, 'not the password at all')->{status}, 401,
   'a wrong password');
is($ws->try_login("nobody\@$slug.example")->{status}, 401, 'an unknown email');

my $forged = qq{x"\n2026/01/01 00:00:00 [notice] 1#1: forged \\ line};
is($ws->try_login($forged)->{status}, 401, 'an email with a newline in it');

my $log = log_text();
like($log, qr/\[info\] .*sign-in succeeded for "\Q$email\E" from 127\.0\.0\.1/,
     'the success is logged with account and address');
like($log, qr/sign-in refused for "\Q$email\E" from 127\.0\.0\.1/,
     'the wrong password too');
like($log, qr/sign-in refused for "nobody\@\Q$slug\E\.example"/,
     'the unknown email too');
like($log, qr/sign-in refused for "x\\x22\\x0a2026\/01\/01 00:00:00 \[notice\] 1#1: forged \\x5c line"/,
     'the hostile email escaped, on one line');
unlike($log, qr/^2026\/01\/01 00:00:00 \[notice\]/m, 'no forged line');
unlike($log, qr/not the password at all|correct horse/,
       'no password in the log');

# throttled: the sixth failure of an account in 15 minutes
$ws->try_login($email, "wrong $_") for 1 .. 6;
like(log_text(), qr/\[warn\] .*sign-in throttled for "\Q$email\E" from 127\.0\.0\.1/,
     'a throttled sign-in is a warning');

$t->done_testing;
