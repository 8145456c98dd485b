package Kanban::ReadRace;

# Task reads racing writes of the same tasks, for the tests of shared
# reads (t/shared_reads.t, t/shared_reads_asked.t): in each round, for
# every task at once, reads, a new title, and more reads; once all of them
# are answered, reads of every task must each show that round's title,
# whether they were answered together or one by one.
#
#     my @all = Kanban::ReadRace::run(t => $t, ws => $ws, auth => $auth,
#         project => $project, tasks => 4, around => 4, after => 3);
#
# Returns every request sent (Kanban::Test's send_req objects, answered),
# for the caller's own counts; one test a round.

use strict;
use warnings;

use Test::More;
use Kanban::Test;

sub run {
    my (%o) = @_;
    my ($t, $ws, $auth) = @o{qw(t ws auth)};
    my $rounds = $o{rounds} // 5;

    my $get = sub {
        $t->send_req(GET => "/api/v1/tasks/$_[0]", host => $ws->slug,
                     headers => $auth);
    };
    my @ids = map {
        my $r = $t->req(POST => "/api/v1/projects/$o{project}{id}/tasks",
                        host => $ws->slug, headers => $auth,
                        json => { title => "Race $_" });
        die "task: $r->{status} $r->{body}" unless $r->{status} == 201;
        $r->{json}{id};
    } 1 .. $o{tasks};

    my @all;
    for my $round (1 .. $rounds) {
        my @round;
        for my $i (0 .. $#ids) {
            push @round, $get->($ids[$i]) for 1 .. $o{around};
            push @round, $t->send_req(PATCH => "/api/v1/tasks/$ids[$i]",
                host => $ws->slug, headers => $auth,
                json => { title => "Race $i round $round" });
            push @round, $get->($ids[$i]) for 1 .. $o{around};
        }
        Kanban::Test::wait_all(\@round, 60);
        push @all, @round;

        my @reads = map { my $id = $_; map { $get->($id) } 1 .. $o{after} }
                    @ids;
        Kanban::Test::wait_all(\@reads, 60);
        my @stale = grep {
            my $i = int($_ / $o{after});
            $reads[$_]->response->{json}{title} ne "Race $i round $round"
        } 0 .. $#reads;
        is_deeply(\@stale, [], "round $round: every read after the writes "
                               . 'shows them');
        push @all, @reads;
    }

    return @all;
}

1;
