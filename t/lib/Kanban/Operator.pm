package Kanban::Operator;

# An operator of the console, made as a person makes one: kanbanctl
# operator add, the setup link opened and finished with a TOTP code, then
# signed in with password and code.
#
#     my $op = Kanban::Operator->new($t);
#     my $r = $op->api(GET => '/api/v1/platform/workspaces');
#     my $code = $op->next_code;          # a code no sign-in has used yet

use strict;
use warnings;

use Carp qw(croak);
use Kanban::TOTP;

our $PASSWORD = 'an operator keeps many plates spinning';
my $serial = 0;

sub new {
    my ($class, $t, %o) = @_;

    my $email = $o{email} // sprintf 'op-%d-%d@ops.example', $$, ++$serial;
    my $out = `$Kanban::Test::ROOT/conf/kanbanctl operator add '$email' 2>&1`;
    croak "kanbanctl operator add: $out" if $?;
    my ($token) = $out =~ m{#token=([A-Za-z0-9_-]+)} or croak "no link: $out";

    my $r = $t->req(POST => '/api/v1/platform/auth/setup',
                    json => { token => $token });
    croak "setup: $r->{status} $r->{body}" unless $r->{status} == 200;

    my $self = bless { t => $t, email => $email,
                       secret => $r->{json}{totp_secret},
                       step => Kanban::TOTP::step() - 1 }, $class;

    $r = $t->req(POST => '/api/v1/platform/auth/setup/finish',
                 json => { token => $token, password => $PASSWORD,
                           totp => $self->next_code });
    croak "setup finish: $r->{status} $r->{body}" unless $r->{status} == 200;

    $self->{token} = $self->login->{json}{token}
        // croak 'the operator could not sign in';

    return $self;
}

sub email  { $_[0]{email} }
sub secret { $_[0]{secret} }
sub token  { $_[0]{token} }

# The code of the next step after the last one used: each sign-in needs
# one later than the one before (replay protection), and the window
# reaches one step ahead, so a test waits for the clock when it has to.
sub next_code {
    my ($self) = @_;
    $self->{step}++;
    sleep 1 while $self->{step} > Kanban::TOTP::step() + 1;
    return Kanban::TOTP::code($self->{secret}, step => $self->{step});
}

sub login {
    my ($self, %o) = @_;
    return $self->{t}->req(POST => '/api/v1/platform/auth/login',
                           json => { email => $self->{email},
                                     password => $PASSWORD,
                                     totp => $self->next_code, %o });
}

sub api {
    my ($self, $method, $path, %o) = @_;
    my %headers = %{ delete $o{headers} // {} };
    $headers{Authorization} //= "Bearer $self->{token}";
    return $self->{t}->req($method => $path, headers => \%headers, %o);
}

1;
