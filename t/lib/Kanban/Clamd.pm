package Kanban::Clamd;

# clamd for the tests. Kanban::Clamd->real starts Debian's clamd (the
# clamav-daemon package) when it is installed, on a port of 127.0.0.1,
# with a signature database of one signature made here: EICAR's test
# string as a body signature (eicar.ndb), since the official databases
# cannot be downloaded here; it reports Eicar-Test-Signature.UNOFFICIAL.
#
# Kanban::Clamd->new is a stand-in: a real TCP server on 127.0.0.1
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

# Debian's clamd with the one signature, or undef when it is not installed
sub real {
    my ($class) = @_;
    my ($clamd) = grep { -x } map { "$_/clamd" } split(/:/, $ENV{PATH}), '/usr/sbin';
    return undef unless $clamd;
    my $dir = File::Temp::tempdir('clamd-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    mkdir "$dir/db" or die $!;
    open my $db, '>', "$dir/db/eicar.ndb" or die $!;
    print $db 'Eicar-Test-Signature:0:*:', unpack('H*', $EICAR), "\n";
    close $db;
    my $probe = IO::Socket::INET->new(LocalAddr => '127.0.0.1:0', Listen => 1)
        or die $!;
    my $port = $probe->sockport;
    close $probe;
    open my $conf, '>', "$dir/clamd.conf" or die $!;
    print $conf "DatabaseDirectory $dir/db\nTCPSocket $port\n"
              . "TCPAddr 127.0.0.1\nForeground yes\nLogFile $dir/clamd.log\n"
              . "PidFile $dir/clamd.pid\n";
    close $conf;
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        open STDOUT, '>', "$dir/out.log";
        open STDERR, '>&', \*STDOUT;
        exec $clamd, '-c', "$dir/clamd.conf" or _exit(127);
    }
    my $self = bless { port => $port, pid => $pid, parent => $$, real => 1,
                       log => "$dir/streams" }, $class;
    for (1 .. 300) {        # it loads its database first: a few seconds
        my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port", Timeout => 1);
        if ($s) {
            syswrite $s, "zPING\0";
            my $got = _read($s, 5) // '';
            return $self if $got eq "PONG\0";
        }
        sleep 0.1;
    }
    $self->stop;
    die "clamd did not start: " . (eval { local (@ARGV, $/) = ("$dir/out.log"); <> } // '');
}

sub is_real { $_[0]{real} }

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
