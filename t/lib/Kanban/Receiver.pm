package Kanban::Receiver;

# A webhook receiver for the tests: a real HTTP server on 127.0.0.1, in a
# process of its own that serves each request in a child, so a slow answer
# holds up no other. Every request is written down as it arrives (one JSON
# line: path, arrival time, headers, body) before it is answered, so the
# test sees what nginx sent, and when.
#
# What a path answers:
#   /ok/...         200
#   /fail/...       500
#   /slow/N/...     200 after N seconds
#   /flaky/N/...    500 to the first N attempts of a delivery, then 200
#   /stall/N/...    the first attempt of a delivery waits N s, then 200
#   /redirect/...   302 to /ok/redirected
#   /llm/...        an OpenAI-compatible chat completion, or, for a path
#                   that ends in /v1/messages, Anthropic's Messages API
#                   (x-api-key and anthropic-version required, else 401 /
#                   400 as Anthropic answers), as mode() says:
#                   ok (a valid answer), slow (the same after 5 s),
#                   garbage (not JSON), shape (JSON, not the shape asked
#                   for), down (the connection closed, no answer), 500,
#                   draft (an update's draft; slow-draft after 5 s),
#                   breakdown (the breakdown agent's subtasks),
#                   content:TEXT (TEXT as the model's answer),
#                   429:N and 503:N (the first
#                   N asks since the mode was set answered so, a 429 with
#                   Retry-After: 1, then ok); usage: 100 tokens in, 20 out
#
#     my $rcv = Kanban::Receiver->new;
#     my $url = $rcv->url('/ok/a');
#     my @got = $rcv->wait_for(sub { grep { $_->{path} eq '/ok/a' } @_ }, 5);

use strict;
use warnings;

use Digest::SHA qw(hmac_sha256_hex);
use Fcntl qw(:flock SEEK_END);
use File::Temp qw(tempfile);
use IO::Socket::INET;
use JSON::XS;
use Kanban::OpenAPI;      # deliveries judged against the document
use POSIX qw(_exit WNOHANG);
use Time::HiRes qw(sleep time);

my $JSON = JSON::XS->new->canonical;


sub new {
    my ($class) = @_;

    my $listen = IO::Socket::INET->new(LocalAddr => '127.0.0.1:0',
                                       Listen => 128, ReuseAddr => 1)
        or die "receiver: $!";
    my (undef, $log) = tempfile('receiver-XXXXXX', TMPDIR => 1, UNLINK => 1);

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

    close $listen;
    $self->{pid} = $pid;
    return $self;
}


sub port { $_[0]{port} }

sub url {
    my ($self, $path) = @_;
    return "http://127.0.0.1:$self->{port}$path";
}


# Every request so far, oldest first: {path, at, headers (lower-case
# names), body, json (the body parsed)}.
sub requests {
    my ($self) = @_;
    open my $fh, '<', $self->{log} or return ();
    my @r;
    while (my $line = <$fh>) {
        my $r = eval { $JSON->decode($line) } or next;
        $r->{json} = eval { $JSON->decode($r->{body}) };
        push @r, $r;
    }
    # a webhook's delivery, the first time it is read: judged against the
    # document's WebhookBody (Kanban::OpenAPI)
    for my $r (@r[($self->{judged} // 0) .. $#r]) {
        Kanban::Test::OpenAPI::record_webhook($r->{body})
            if defined $r->{headers}{'x-kanban-delivery'};
    }
    $self->{judged} = @r;
    return @r;
}


# Waits until $cond (given every request) returns true, or $timeout s;
# what it returned last, as a list.
sub wait_for {
    my ($self, $cond, $timeout) = @_;
    my $deadline = time + ($timeout // 10);
    my @got;
    while (1) {
        @got = $cond->($self->requests);
        return @got if @got && $got[0];
        return () if time > $deadline;
        sleep 0.05;
    }
}


# How /llm/ answers from now on (the asks so far noted, for 429:N).
sub mode {
    my ($self, $mode) = @_;
    my $asked = grep { $_->{path} =~ m{^/llm/} } $self->requests;
    open my $fh, '>', "$self->{log}.mode" or die;
    print $fh "$mode\n$asked\n";
    close $fh;
}


# Does the signature verify with this secret?
sub signed {
    my ($class, $r, $secret) = @_;
    my $sig = $r->{headers}{'x-kanban-signature'} // '';
    return $sig eq 'sha256=' . hmac_sha256_hex($r->{body}, $secret);
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


sub _serve {
    my ($self, $c) = @_;

    my $head = '';
    while ($head !~ /\r\n\r\n/) {
        my $n = sysread $c, $head, 4096, length $head;
        return unless $n;
    }
    my ($hdr, $body) = split /\r\n\r\n/, $head, 2;
    my ($line, @lines) = split /\r\n/, $hdr;
    my ($method, $path) = split / /, $line;
    my %h;
    for (@lines) {
        my ($k, $v) = /^([^:]+):\s*(.*)$/ or next;
        $h{lc $k} = $v;
    }
    my $len = $h{'content-length'} // 0;
    while (length $body < $len) {
        my $n = sysread $c, $body, $len - length $body, length $body;
        last unless $n;
    }

    my $id = $h{'x-kanban-delivery'} // '';
    my $before = grep { ($_->{headers}{'x-kanban-delivery'} // '') eq $id
                        && $_->{path} eq $path } $self->requests;

    open my $fh, '>>', $self->{log} or die;
    flock $fh, LOCK_EX;
    seek $fh, 0, SEEK_END;
    print $fh $JSON->encode({ method => $method, path => $path, at => time,
                              headers => \%h, body => $body }), "\n";
    close $fh;

    my ($status, $extra) = (200, '');
    if ($path =~ m{^/llm/}) {
        return $self->_llm($c);
    } elsif ($path =~ m{^/fail/}) {
        $status = 500;
    } elsif ($path =~ m{^/slow/(\d+(?:\.\d+)?)/}) {
        sleep $1;
    } elsif ($path =~ m{^/flaky/(\d+)/}) {
        $status = $before < $1 ? 500 : 200;
    } elsif ($path =~ m{^/stall/(\d+(?:\.\d+)?)/}) {
        sleep $1 if $before == 0;
    } elsif ($path =~ m{^/redirect/}) {
        $status = 302;
        $extra = "Location: http://127.0.0.1:$self->{port}/ok/redirected\r\n";
    }

    my $answer = $status == 200 ? 'thanks' : 'no';
    print $c "HTTP/1.1 $status X\r\nContent-Type: text/plain\r\n$extra"
             . "Content-Length: " . length($answer) . "\r\n"
             . "Connection: close\r\n\r\n$answer";
    close $c;
}

sub _llm {
    my ($self, $c) = @_;

    my ($mode, $base) = ('ok', 0);
    if (open my $fh, '<', "$self->{log}.mode") {
        chomp($mode = <$fh> // 'ok');
        chomp($base = <$fh> // 0);
    }
    my ($req) = grep { $_->{path} =~ m{^/llm/} } reverse $self->requests;
    my $anthropic = $req && $req->{path} =~ m{/v1/messages$};
    my $nth = (grep { $_->{path} =~ m{^/llm/} } $self->requests) - $base;

    return close $c if $mode eq 'down';
    sleep 5 if $mode =~ /^slow/;
    # a model that never answers in time (agents_unasked.t kills nginx
    # while its call waits)
    if ($mode eq 'hang') {
        sleep 30;
        return close $c;
    }

    my $answer = sub {
        my ($status, $body, $extra) = @_;
        print $c "HTTP/1.1 $status X\r\nContent-Type: application/json\r\n"
                 . ($extra // '')
                 . "Content-Length: " . length($body) . "\r\n"
                 . "Connection: close\r\n\r\n$body";
        close $c;
    };

    if ($mode =~ /^(429|503):(\d+)$/ && $nth <= $2) {
        return $answer->($1, '{"error":{"type":"overloaded"}}',
                         $1 == 429 ? "Retry-After: 1\r\n" : '');
    }
    if ($anthropic && !($req->{headers}{'x-api-key'}
                        && $req->{headers}{'anthropic-version'})) {
        return $answer->($req->{headers}{'x-api-key'} ? 400 : 401,
                         '{"type":"error","error":{"type":"authentication_error"}}');
    }

    my $content = $JSON->encode({
        summary => 'Two of three projects are on track; Payments slips.',
        risks => [ { title => 'Payments slips', severity => 'high',
                     rationale => 'Most of its time is gone, little work '
                                  . 'is done.' } ],
        recommendations => [ 'Unblock the blocked Payments tasks first.' ],
    });
    $content = $JSON->encode({ summary => 42 }) if $mode eq 'shape';
    # a weekly update's draft (portfolio_draft.t)
    $content = $JSON->encode({ text => 'Payments is at risk: 3 tasks are '
                                       . 'blocked. The bank answers Monday.' })
        if $mode =~ /draft$/;
    # the breakdown agent's proposal (agents.t)
    $content = $JSON->encode({ subtasks => [
        { title => 'Inject the clock', estimate_minutes => 60,
          acceptance_criteria => 'The test sets the time.' },
        { title => 'Remove the retry', estimate_minutes => 30,
          acceptance_criteria => 'The test passes 100 times in a row.' } ] })
        if $mode eq 'breakdown';
    # any answer a test writes (agents.t: triage, digest)
    $content = substr($mode, length 'content:') if $mode =~ /^content:/;
    my $body = $anthropic
        ? $JSON->encode({
            id => 'msg_1', type => 'message', role => 'assistant',
            model => 'fake', stop_reason => 'end_turn',
            content => [ { type => 'text', text => $content } ],
            usage => { input_tokens => 100, output_tokens => 20 } })
        : $JSON->encode({
            id => 'chatcmpl-1', object => 'chat.completion', model => 'fake',
            choices => [ { index => 0, finish_reason => 'stop',
                           message => { role => 'assistant',
                                        content => $content } } ],
            usage => { prompt_tokens => 100, completion_tokens => 20,
                       total_tokens => 120 } });
    $body = '<html>Bad gateway, sort of</html>' if $mode eq 'garbage';
    my $status = $mode eq '500' ? 500 : 200;

    $answer->($status, $body);
}

1;
