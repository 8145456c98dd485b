package Kanban::Clamd;

# A stand-in for clamd in the tests: a real TCP server on 127.0.0.1
# speaking clamd's INSTREAM protocol ("zINSTREAM\0", chunks each after
# their 4-byte length in network order, a zero length; one reply ending
# in a NUL). Debian's clamav-daemon needs a signature database that
# cannot be downloaded here, so this one knows one signature: the EICAR
# test file, reported as clamd reports it. It is strict about the
# protocol (a malformed stream is an ERROR reply, as clamd's), so a test
# passing against it says the module speaks the protocol.
#
# mode(): ok (answers at once), slow (waits 5 s before the reply),
# close (closes without a reply). Every stream is kept for the test:
# streams() lists their sizes.
#
#     my $clamd = Kanban::Clamd->new;
#     kanban_clamd 127.0.0.1:${\$clamd->port};

use strict;
use warnings;

use File::Temp qw(tempfile);
use IO::Socket::INET;
use POSIX qw(_exit);
use Time::HiRes qw(sleep);

our $EICAR = 'X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';

sub new {
    my ($class) = @_;
    my $listen = IO::Socket::INET->new(LocalAddr => '127.0.0.1:0',
                                       Listen => 64, ReuseAddr => 1)
        or die "clamd: $!";
    my (undef, $log) = tempfile('clamd-XXXXXX', TMPDIR => 1, UNLINK => 1);
    my $self = bless { port => $listen->sockport, log => $log,
                       parent => $$ }, $class;
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        $SIG{CHLD} = 'IGNORE';
        $SIG{TERM} = sub { _exit(0) };
        while (1) {
            my $c = $listen->accept or next;
            my $child = fork;
            if (defined $child && $child == 0) {
                eval { $self->_serve($c) };
                _exit(0);
            }
            close $c;
        }
    }
    $self->{pid} = $pid;
    close $listen;
    return $self;
}

sub port { $_[0]{port} }

sub mode {
    my ($self, $mode) = @_;
    open my $f, '>', "$self->{log}.mode" or die $!;
    print $f $mode;
    close $f;
}

sub _mode {
    my ($self) = @_;
    open my $f, '<', "$self->{log}.mode" or return 'ok';
    my $m = <$f> // 'ok';
    return $m;
}

# the sizes of the streams received, in order
sub streams {
    my ($self) = @_;
    open my $f, '<', $self->{log} or return ();
    return map { chomp; $_ } <$f>;
}

sub _read {
    my ($c, $n) = @_;
    my $buf = '';
    while (length $buf < $n) {
        my $got = sysread $c, $buf, $n - length $buf, length $buf;
        return undef unless $got;
    }
    return $buf;
}

sub _serve {
    my ($self, $c) = @_;
    my $mode = $self->_mode;
    my $cmd = _read($c, 10);
    if (!defined $cmd || $cmd ne "zINSTREAM\0") {
        syswrite $c, "UNKNOWN COMMAND\0";
        return;
    }
    my $data = '';
    while (1) {
        my $len = _read($c, 4);
        if (!defined $len) { syswrite $c, "stream: INSTREAM: Can't read chunk size ERROR\0"; return }
        my $n = unpack 'N', $len;
        last if $n == 0;
        my $chunk = _read($c, $n);
        if (!defined $chunk) { syswrite $c, "stream: INSTREAM: Can't read chunk ERROR\0"; return }
        $data .= $chunk;
    }
    open my $f, '>>', $self->{log} or die $!;
    print $f length($data), "\n";
    close $f;
    return if $mode eq 'close';
    sleep 5 if $mode eq 'slow';
    syswrite $c, index($data, $EICAR) >= 0
                 ? "stream: Eicar-Test-Signature FOUND\0" : "stream: OK\0";
}

sub stop {
    my ($self) = @_;
    return unless $self->{pid} && $$ == $self->{parent};
    kill 'TERM', $self->{pid};
    waitpid $self->{pid}, 0;
    delete $self->{pid};
    unlink "$self->{log}.mode";
}

sub DESTROY { $_[0]->stop }

1;
