#!/usr/bin/perl

# Mails per second the outbox sends to the loopback SMTP sink (make bench;
# alone: BENCH_ONLY=mail make bench). BENCH_MAILS messages (2,000) are
# queued at once in a workspace's outbox, in one transaction, as a write
# would queue them; the figure is how many a second nginx's two workers
# then send, from that commit until the last is marked sent, for each
# kanban_mail_concurrency of BENCH_MAIL_CONCURRENCY ("4 16": messages in
# flight per worker; kanban_mail_rate out of the way). Each message is a
# whole SMTP session (EHLO, MAIL, RCPT, DATA, QUIT) of about 1.5 KB to
# t/lib/smtp_sink.py (aiosmtpd, one Python process, which writes each one
# to disk): the sink is part of what is measured.

use strict;
use warnings;

use Kanban::SMTP;
use Kanban::Test;
use Time::HiRes qw(sleep time);

$Kanban::Test::QUIET = 1;

my $N = $ENV{BENCH_MAILS} // 2000;
my @CONCURRENCY = split ' ', $ENV{BENCH_MAIL_CONCURRENCY} // '4 16';

for my $c (@CONCURRENCY) {
    my $smtp = Kanban::SMTP->new;
    my $port = $smtp->port;
    my $t = Kanban::Test->new(log_level => 'warn', http => <<"EOF")->run;
kanban_mail_server smtp://127.0.0.1:$port;
kanban_mail_concurrency $c;
kanban_mail_rate 10000;
kanban_mail_sweep 200ms;
EOF
    my $slug = $t->signup(prefix => 'mailbench');
    my $dbh = $t->tenant_dbh($slug);

    my $start = time;
    $dbh->do(q{
        SELECT mail_enqueue('notification', NULL,
                            'reader' || g || '@bench.example', 'Reader ' || g,
                            'Bench message ' || g,
                            repeat('Some text of the message. ', 20),
                            '<p>' || repeat('Some HTML of the message. ', 20)
                            || '</p>', NULL)
          FROM generate_series(1, ?) g}, undef, $N);
    # queued outside nginx: no write woke the sender, so the workspace is
    # made due in the catalog's index (catalog 018), as it would be by one
    $t->catalog->do(q{
        INSERT INTO sweep_due (sweep, slug, due_at) VALUES ('mail', ?, now())
        ON CONFLICT (sweep, slug) DO UPDATE SET due_at = now()}, undef, $slug);
    my $queued = time;

    my $sent = 0;
    my $deadline = time + 300;
    while (time < $deadline) {
        ($sent) = $dbh->selectrow_array(
            q{SELECT count(*) FROM mail_outbox WHERE status = 'sent'});
        last if $sent >= $N;
        sleep 0.05;
    }
    my $done = time;
    my ($failed) = $dbh->selectrow_array(
        q{SELECT count(*) FROM mail_outbox WHERE status <> 'sent'});
    my $received = () = $smtp->messages;

    printf "mail: %d messages, kanban_mail_concurrency %d (2 workers): "
         . "%.0f mails/s (%.2f s from commit to the last sent; "
         . "queued in %.2f s); %d received by the sink, %d not sent\n",
        $N, $c, $sent / ($done - $queued), $done - $queued, $queued - $start,
        $received, $failed;

    $t->stop;
    $smtp->stop;
}
