package Kanban::SSE;

# A client of the event stream (GET /api/v1/events) over a plain socket,
# as a browser's EventSource reads it: the response's head, then its body
# (chunked or not) cut into events at blank lines.
#
#     my $s = Kanban::SSE->open($t, $slug, $token, query => 'project_id=..',
#                               last_event_id => 42);
#     is($s->status, 200);
#     my @ev = $s->next(3);       # [{id, event, data (decoded), raw}]
#     $s->quiet(0.5);             # whatever comes within half a second
#     ok($s->wait_closed(5));     # the server ended the stream

use strict;
use warnings;

use Carp qw(croak);
use Errno qw(EAGAIN EINTR EWOULDBLOCK EINPROGRESS);
use IO::Select;
use IO::Socket::INET;
use JSON::XS;
use Kanban::OpenAPI;      # each event judged against the document
use Socket qw(SOL_SOCKET SO_RCVBUF IPPROTO_TCP inet_aton pack_sockaddr_in);
use Time::HiRes qw(sleep time);

my $JSON = JSON::XS->new->utf8->canonical;

# open($t or port, $slug, $token, query, last_event_id, headers {},
#      rcvbuf (bytes, set before connecting), host_header,
#      path (the operators' stream: '/api/v1/platform/events', its events
#      judged as PlatformStreamEvent))
sub open {
    my ($class, $t, $slug, $token, %o) = @_;

    my $port = ref $t ? $t->port : $t;
    my $sock = IO::Socket::INET->new(Proto => 'tcp')
        or croak "socket: $!";
    setsockopt($sock, SOL_SOCKET, SO_RCVBUF, $o{rcvbuf}) if $o{rcvbuf};
    $sock->connect(pack_sockaddr_in($port, inet_aton('127.0.0.1')))
        or croak "connect to $port: $!";
    $sock->blocking(0);

    my $path = ($o{path} // '/api/v1/events')
        . (defined $o{query} ? "?$o{query}" : '');
    my %h = (Host => $o{host_header} // "$slug.localhost:$port",
             Accept => 'text/event-stream');
    $h{Authorization} = "Bearer $token" if defined $token;
    $h{'Last-Event-ID'} = $o{last_event_id} if defined $o{last_event_id};
    %h = (%h, %{ $o{headers} // {} });
    delete $h{$_} for grep { !defined $h{$_} } keys %h;

    my $req = "GET $path HTTP/1.1\r\n"
        . join('', map { "$_: $h{$_}\r\n" } sort keys %h) . "\r\n";
    syswrite $sock, $req;

    my $self = bless { sock => $sock, in => '', body => '', text => '',
                       events => [], comments => 0, opened => time,
                       platform => ($path =~ m{^/api/v1/platform/} ? 1 : 0) },
                     $class;
    $self->_read(0.01) for 1 .. 3;
    return $self;
}

sub sock { $_[0]{sock} }

# Reads what has come (waiting up to $wait seconds) and parses it.
sub _read {
    my ($self, $wait) = @_;

    return if $self->{eof};
    return unless IO::Select->new($self->{sock})->can_read($wait // 0);

    while (1) {
        my $n = sysread $self->{sock}, my $buf, 65536;
        if (!defined $n) {
            last if $! == EAGAIN || $! == EWOULDBLOCK || $! == EINTR;
            $self->{eof} = 1;
            $self->{error} = "$!";
            last;
        }
        if ($n == 0) {
            # a response without length ends with the connection: a FIN
            # is its clean end (a dropped client gets a reset)
            $self->{eof} = 1;
            $self->{ended} = 1 unless $self->{chunked};
            $self->{closed_at} = time;
            last;
        }
        $self->{in} .= $buf;
    }

    $self->_parse;
}

sub _parse {
    my ($self) = @_;

    if (!$self->{head}) {
        my $i = index $self->{in}, "\r\n\r\n";
        return if $i < 0;
        $self->{head} = substr $self->{in}, 0, $i;
        substr($self->{in}, 0, $i + 4) = '';
        ($self->{status}) = $self->{head} =~ m{^HTTP/1\.[01] (\d{3})};
        for (split /\r\n/, $self->{head}) {
            $self->{headers}{lc $1} = $2 if /^([^:\s]+):\s*(.*?)\s*$/;
        }
        $self->{chunked} =
            ($self->{headers}{'transfer-encoding'} // '') =~ /chunked/i;
    }

    if ($self->{chunked}) {
        while ($self->{in} =~ /^([0-9a-fA-F]+)\r\n/) {
            my $n = hex $1;
            my $hl = length($1) + 2;
            if ($n == 0) {
                $self->{ended} = 1;     # the last chunk: a clean end
                $self->{in} = '';
                last;
            }
            last if length $self->{in} < $hl + $n + 2;
            $self->{body} .= substr $self->{in}, $hl, $n;
            substr($self->{in}, 0, $hl + $n + 2) = '';
        }
    } else {
        $self->{body} .= $self->{in};
        $self->{in} = '';
    }

    return if ($self->{status} // 0) != 200;

    while ((my $i = index $self->{body}, "\n\n") >= 0) {
        my $block = substr $self->{body}, 0, $i;
        substr($self->{body}, 0, $i + 2) = '';
        my %e = (raw => "$block\n\n", at => time);
        my @data;
        for my $line (split /\n/, $block) {
            if ($line =~ /^:/) { $e{comment} = 1; next }
            my ($k, $v) = $line =~ /^([^:]+): ?(.*)$/ or next;
            if ($k eq 'data') { push @data, $v } else { $e{$k} = $v }
        }
        if (@data) {
            $e{data_text} = join "\n", @data;
            $e{data} = eval { $JSON->decode($e{data_text}) };
            Kanban::Test::OpenAPI::record_event($e{event}, $e{data_text},
                undef, $self->{platform} ? 'platform' : undef);
        }
        if ($e{comment} && !defined $e{event} && !@data) {
            $self->{comments}++;
            next;
        }
        next if defined $e{retry} && !defined $e{event};
        $e{id} += 0 if defined $e{id};
        push @{ $self->{events} }, \%e;
    }
}

# The response's status (waiting up to $timeout seconds for its head).
sub status {
    my ($self, $timeout) = @_;
    my $deadline = time + ($timeout // 5);
    $self->_read(0.05) while !$self->{head} && !$self->{eof} && time < $deadline;
    return $self->{status} // 0;
}

sub headers { $_[0]->status; $_[0]{headers} // {} }

# A refused stream's whole answer: {status, headers, json}.
sub response {
    my ($self, $timeout) = @_;
    $self->status($timeout);
    my $deadline = time + ($timeout // 5);
    $self->_read(0.05) while !$self->{eof} && time < $deadline
        && !(length $self->{body} && $self->{body} =~ /\}\s*\z/);
    return { status => $self->{status} // 0, headers => $self->{headers},
             body => $self->{body},
             json => scalar eval { $JSON->decode($self->{body}) } };
}

# The next $n events (fewer when they do not come within $timeout).
sub next {
    my ($self, $n, $timeout) = @_;
    my $deadline = time + ($timeout // 5);
    $self->_read(0.05)
        while @{ $self->{events} } < $n && !$self->{eof} && time < $deadline;
    $self->_read(0);
    return splice @{ $self->{events} }, 0, $n;
}

# Events until one satisfies $cond (included), or $timeout.
sub until {
    my ($self, $cond, $timeout) = @_;
    my $deadline = time + ($timeout // 5);
    my @got;
    while (1) {
        while (my $e = shift @{ $self->{events} }) {
            push @got, $e;
            return @got if $cond->($e);
        }
        last if $self->{eof} || time >= $deadline;
        $self->_read(0.05);
    }
    return @got;
}

# Whatever arrives within $wait seconds.
sub quiet {
    my ($self, $wait) = @_;
    my $deadline = time + $wait;
    $self->_read(0.05) while time < $deadline && !$self->{eof};
    $self->_read(0);
    return splice @{ $self->{events} }, 0;
}

# Waits until the server closes or ends the stream.
sub wait_closed {
    my ($self, $timeout) = @_;
    my $deadline = time + ($timeout // 5);
    $self->_read(0.05) while !$self->{eof} && !$self->{ended}
                             && time < $deadline;
    return $self->{eof} || $self->{ended};
}

sub ended { $_[0]{ended} }          # the last chunk, or a FIN unchunked
sub eof   { $_[0]{eof} }
sub comments { $_[0]{comments} }

sub close {
    my ($self) = @_;
    CORE::close($self->{sock}) unless $self->{closed}++;
}

sub DESTROY { $_[0]->close }

1;
