package Kanban::Test::OpenAPI;

# Every response a test file receives is checked against the contract,
# html/openapi.yaml: its route and status must be documented there, and a
# JSON body must match the schema of that status.  Kanban::Test records
# each response (Kanban::Test::Conn->response) in a file of this process;
# at the end of the file t/openapi/validate.mjs (ajv, JSON Schema 2020-12
# as OpenAPI 3.1 has it) judges them all at once, and the result is one
# more test of the file: "N responses match html/openapi.yaml". The events
# a test reads from the stream (Kanban::SSE) are judged as well, each
# against the document's StreamEvent.
#
# KANBAN_TEST_OPENAPI=0 turns the check off (a file that tests nginx
# itself with a configuration of its own may say so too: off()).  Under
# t/run the count of each file is added to $KANBAN_TEST_RUN/../openapi.count,
# which t/run sums up at the end.

use strict;
use warnings;

use File::Path qw(make_path);
use IO::Handle;
use JSON::XS;

my $json = JSON::XS->new->utf8->canonical;
my ($file, $fh, $off, $count, $owner);

sub off { $off = 1 }

sub enabled {
    return !$off && ($ENV{KANBAN_TEST_OPENAPI} // 1) && !$Kanban::Test::QUIET;
}


sub record {
    my ($conn, $r) = @_;

    return unless enabled() && $r->{status} && defined $conn->{target};
    # a front nginx's own answer for a node gone (t/cluster.t)
    return if $conn->{front} && $r->{status} == 502;

    unless ($fh) {
        make_path($Kanban::Test::TMP);
        $file = "$Kanban::Test::TMP/openapi-$$.jsonl";
        open $fh, '>:raw', $file or die "$file: $!";
        # each record written whole at once: a forked child that exits
        # flushes no half record of ours into the file
        $fh->autoflush(1);
        ($owner, $count) = ($$, 0);
    }

    my $type = $r->{headers}{'content-type'} // '';
    my %rec = (
        method => $conn->{method},
        target => $conn->{target},
        host   => $conn->{host} // '',
        status => $r->{status} + 0,
        type   => $type,
        length => length $r->{body},
        file   => $0,
    );
    $rec{body} = $r->{body} if $type =~ m{[/+]json\b}i;
    $rec{raw} = 1 if $conn->{raw};

    print $fh $json->encode(\%rec), "\n";
    $count++;
}

# An event of the stream (Kanban::SSE), judged against the document's
# StreamEvent: its type and its data; or (type undef) a webhook's delivery
# (Kanban::Receiver), against WebhookBody.
sub record_webhook { record_event(undef, $_[0], 1) }

sub record_event {
    my ($type, $data, $webhook, $stream) = @_;

    return unless enabled() && (defined $type || $webhook) && defined $data;
    # the test's own process only (a receiver's child reads requests too)
    return if $fh && $owner != $$;

    unless ($fh) {
        make_path($Kanban::Test::TMP);
        $file = "$Kanban::Test::TMP/openapi-$$.jsonl";
        open $fh, '>:raw', $file or die "$file: $!";
        $fh->autoflush(1);
        ($owner, $count) = ($$, 0);
    }

    print $fh $json->encode($webhook
                            ? { webhook => 1, body => $data, file => $0 }
                            : { event => $type, body => $data, file => $0,
                                ($stream ? (stream => $stream) : ()) }),
              "\n";
    $count++;
}


# Called once at the end of the file: one test more, or nothing when no
# response was recorded.
sub finish {
    my ($planned) = @_;       # a file with a plan: only a failure may be added

    return unless $fh;
    close $fh;
    undef $fh;

    my $root = $Kanban::Test::ROOT;
    my $validator = "$root/t/openapi/validate.mjs";
    my @failures;
    my $validated = 0;

    if ($ENV{KANBAN_OPENAPI_CORPUS}) {
        # collecting responses only (to write the document from)
    } elsif (!-e "$root/t/openapi/node_modules/ajv/package.json") {
        push @failures, 't/openapi/node_modules is missing: '
            . 'npm ci --prefix t/openapi (t/run does it)';
    } else {
        my $out = `node '$validator' '$root/html/openapi.yaml' '$file' 2>&1`;
        for (split /\n/, $out) {
            if (/^validated (\d+)/) {
                $validated = $1;
            } else {
                push @failures, $_;
            }
        }
        push @failures, "validate.mjs exited with " . ($? >> 8)
            if $? && !@failures;
    }

    if (my $dir = $ENV{KANBAN_OPENAPI_CORPUS}) {
        system('sh', '-c', "cat '$file' >> '$dir/corpus.jsonl'");
    }
    unlink $file;

    unless ($planned && !@failures) {
        Test::More::ok(!@failures, "$validated of $count responses match "
                                   . "html/openapi.yaml")
            or Test::More::diag(join "\n", @failures[0 .. ($#failures > 29
                                                      ? 29 : $#failures)]);
    }

    if ($ENV{KANBAN_TEST_RUN} && open my $c, '>>',
        "$ENV{KANBAN_TEST_RUN}/../openapi.count")
    {
        print $c "$validated $count\n";
        close $c;
    }
}

1;
