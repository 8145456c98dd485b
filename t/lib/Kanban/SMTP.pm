package Kanban::SMTP;

# A real SMTP server on 127.0.0.1 for the tests: t/lib/smtp_sink.py
# (aiosmtpd), in a process of its own, that writes each message it
# accepts to a directory. It can be stopped and started again on the
# same port (the server down, then back), and require STARTTLS and AUTH.
# A recipient whose local part starts with "refuse" is refused (550),
# "busy" deferred (451).
#
#     my $smtp = Kanban::SMTP->new(auth => 'kanban:secret');
#     ... "kanban_mail_server smtp://127.0.0.1:" . $smtp->port
#     my @m = $smtp->wait_for(sub { grep { $_->{to} =~ /ann/ } @_ }, 10);
#     $m[0]{headers}{subject}, $m[0]{text}, $m[0]{html}, $m[0]{raw}

use strict;
use warnings;

use Carp qw(croak);
use File::Temp qw(tempdir);
use IO::Socket::INET;
use JSON::XS;
use MIME::Base64 qw(decode_base64);
use Encode qw(decode);
use Time::HiRes qw(sleep time);

my $SINK = __FILE__ =~ s{Kanban/SMTP\.pm$}{smtp_sink.py}r;


sub new {
    my ($class, %o) = @_;

    my $probe = IO::Socket::INET->new(LocalAddr => '127.0.0.1:0',
                                      Listen => 1, ReuseAddr => 1)
        or die "smtp: $!";
    my $port = $probe->sockport;
    close $probe;

    my $self = bless { port => $port, auth => $o{auth}, tls => $o{tls},
                       dir => tempdir('smtp-XXXXXX', TMPDIR => 1,
                                      CLEANUP => 1),
                       parent => $$ }, $class;
    $self->start;
    return $self;
}

sub port { $_[0]{port} }
sub dir { $_[0]{dir} }

sub start {
    my ($self) = @_;
    my @args = ($self->{port}, $self->{dir});
    push @args, '--tls', @{ $self->{tls} } if $self->{tls};
    push @args, '--auth', $self->{auth} if $self->{auth};

    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        open STDOUT, '>', '/dev/null';
        exec '/usr/bin/python3', $SINK, @args or die "exec: $!";
    }
    $self->{pid} = $pid;

    my $deadline = time + 10;
    until (IO::Socket::INET->new(PeerAddr => "127.0.0.1:$self->{port}")) {
        croak "the SMTP sink did not start" if time > $deadline;
        sleep 0.05;
    }
    return $self;
}

sub stop {
    my ($self) = @_;
    return unless $self->{pid};
    kill 'TERM', $self->{pid};
    waitpid $self->{pid}, 0;
    delete $self->{pid};
}

# every message received so far, oldest first
sub messages {
    my ($self) = @_;
    opendir my $d, $self->{dir} or return;
    my @files = sort grep { /\.eml$/ } readdir $d;
    return map { $self->_read("$self->{dir}/$_") } @files;
}

# waits until $pick (given every message) returns something, or $timeout
sub wait_for {
    my ($self, $pick, $timeout) = @_;
    my $deadline = time + ($timeout // 10);
    while (1) {
        my @got = $pick->($self->messages);
        return @got if @got || time > $deadline;
        sleep 0.1;
    }
}

sub _read {
    my ($self, $file) = @_;
    open my $fh, '<:raw', $file or return;
    local $/;
    my $raw = <$fh>;
    close $fh;
    (my $envfile = $file) =~ s/\.eml$/.json/;
    open my $ej, '<', $envfile or return;
    my $env = decode_json(scalar <$ej>);

    my ($head, $body) = split /\r?\n\r?\n/, $raw, 2;
    my (%headers, @names);
    for my $line (split /\r?\n(?![ \t])/, $head) {
        my ($name, $value) = $line =~ /^([^:\s]+):\s*(.*)$/s or next;
        push @names, $name;
        $value =~ s/\r?\n[ \t]/ /g;
        $headers{lc $name} = $value;
    }

    my %m = (raw => $raw, head => $head, headers => \%headers,
             names => \@names, envelope => $env, to => $env->{rcpt_tos}[0],
             file => $file);

    my ($boundary) = ($headers{'content-type'} // '') =~ /boundary="([^"]+)"/;
    if ($boundary) {
        for my $part (split /--\Q$boundary\E(?:--)?\r?\n/, $body) {
            my ($ph, $pb) = split /\r?\n\r?\n/, $part, 2;
            next unless defined $pb;
            my $text = decode('UTF-8', decode_base64($pb));
            $m{text} = $text if $ph =~ m{text/plain};
            $m{html} = $text if $ph =~ m{text/html};
        }
    }

    return \%m;
}

# A header's text as a reader sees it: RFC 2047 words decoded.
sub decoded {
    my ($value) = @_;
    $value =~ s/\?=\s+=\?/?==?/g;
    $value =~ s/=\?UTF-8\?B\?([^?]*)\?=/decode('UTF-8', decode_base64($1))/gie;
    return $value;
}

sub DESTROY {
    my ($self) = @_;
    $self->stop if $self->{pid} && $$ == $self->{parent};
}

1;
