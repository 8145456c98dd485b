#!/usr/bin/perl

# What the second factor costs a sign-in: p50 and p99 of 200 sequential
# sign-ins each way, on one workspace: the password alone (no MFA); the
# password of a person with MFA on (answered 401 mfa_required with a
# challenge); and the second step with a recovery code (20 people, 10
# codes each). The password's argon2id in the thread pool dominates the
# first two; the second step hashes nothing slow. Not part of the suite:
#
#     bash t/run t/bench/mfa_sign_in.pl

use strict; use warnings;
use Test::More;
use Time::HiRes qw(time);
use Kanban::Test;
use Kanban::TOTP;

my $t = Kanban::Test->new->run;
my $ws = $t->workspace(prefix => 'bm');
my $pw = $Kanban::Test::Workspace::PASSWORD;

sub pct {
    my ($p, @v) = @_;
    @v = sort { $a <=> $b } @v;
    return $v[int($p * $#v + 0.5)];
}

sub timed {
    my ($f) = @_;
    my $t0 = time;
    $f->();
    return (time - $t0) * 1000;
}

sub report {
    my ($name, @ms) = @_;
    diag sprintf '%-40s n %3d   p50 %6.1f ms   p99 %6.1f ms', $name,
                 scalar @ms, pct(0.5, @ms), pct(0.99, @ms);
}

my (@people, @plain);
for my $i (1 .. 20) {
    my $m = $ws->member("Bench $i");
    my $r = $ws->api($m, POST => '/api/v1/me/mfa/totp',
                     json => { password => $pw });
    my $code = Kanban::TOTP::code($r->{json}{secret});
    $r = $ws->api($m, POST => '/api/v1/me/mfa/totp/confirm',
                  json => { code => $code });
    die "confirm: $r->{status} $r->{body}" unless $r->{status} == 200;
    push @people, { %$m, recovery => $r->{json}{recovery_codes} };
    push @plain, $ws->member("Plain $i");
}

my (@password, @challenge, @second);
for my $round (0 .. 9) {
    for my $i (0 .. 19) {
        push @password, timed(sub {
            my $r = $ws->try_login($plain[$i]{email});
            die "login: $r->{status}" unless $r->{status} == 200;
        });
        my $challenge;
        push @challenge, timed(sub {
            my $r = $ws->try_login($people[$i]{email});
            die "login: $r->{status}" unless $r->{status} == 401;
            $challenge = $r->{json}{challenge};
        });
        push @second, timed(sub {
            my $r = $t->req(POST => '/api/v1/auth/login/mfa',
                            host => $ws->slug,
                            json => { challenge => $challenge,
                                      recovery_code =>
                                          $people[$i]{recovery}[$round] });
            die "second: $r->{status} $r->{body}" unless $r->{status} == 200;
        });
    }
}

report('password alone (no MFA)', @password);
report('password, MFA on (challenge)', @challenge);
report('second step (recovery code)', @second);
pass('measured');

$t->done_testing;
