#!/usr/bin/perl

# Share links shown elsewhere (issue 25): the QR code in the size,
# colours and error correction asked for (codes scanners could not read
# refused), and a shared task or project that unfurls in chat apps: a
# crawler's GET of /s/{code} gets Open Graph tags with the title and
# description, nothing private, while a person is sent on as before.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep time);

use Kanban::Test qw(made problem_is);

my $t = Kanban::Test->new->run;
my $ws = $t->workspace(prefix => 'previews');
my $slug = $ws->slug;
my $admin = $ws->admin;
my $ann = $ws->member('Ann');

my $SLACK = 'Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)';
my $FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 '
            . 'Firefox/128.0';

sub create {
    my ($who, %body) = @_;
    return made($ws->api($who, POST => '/api/v1/share-links',
                         json => \%body), 'link');
}

# --- QR options -----------------------------------------------------------

my $link = create($ann, url => 'https://example.com/a/page/to/scan');

sub qr_svg {
    my ($query) = @_;
    return $ws->api($ann, GET => "/api/v1/share-links/$link->{id}/qr.svg"
                               . ($query ? "?$query" : ''));
}

sub side {
    my ($svg) = @_;
    my ($side) = $svg =~ /viewBox="0 0 (\d+) \1"/;
    return $side // 0;
}

my $r = qr_svg();
is($r->{status}, 200, 'the QR code as it was: 200');
like($r->{body}, qr/<rect [^>]*fill="#fff"/, 'on white');
like($r->{body}, qr/<path fill="#000"/, 'in black');
my $side_m = side($r->{body});
like($r->{body}, qr/width="@{[ $side_m * 8 ]}"/, '8 px a module');

$r = qr_svg('size=300&fg=1A2B3C&bg=fff8e7&ec=H');
is($r->{status}, 200, 'size, colours and error correction chosen: 200');
like($r->{body}, qr/width="300" height="300"/, 'the image 300 px a side');
like($r->{body}, qr/<rect [^>]*fill="#fff8e7"/, 'on the ground asked for');
like($r->{body}, qr/<path fill="#1a2b3c"/, 'in the colour asked for');
my $side_h = side($r->{body});

my $side_l = side(qr_svg('ec=L')->{body});
ok($side_l <= $side_m && $side_m < $side_h,
   "more correction, more modules: L $side_l <= M $side_m < H $side_h");
like(qr_svg('fg=123')->{body}, qr/<path fill="#112233"/,
     'three hex digits stand for six');

for my $bad (['size=10', 'size 10 px', qr/size must be/],
             ['size=5000', 'size 5000 px', qr/size must be/],
             ['size=abc', 'size not a number', qr/size must be/],
             ['ec=X', 'an unknown correction level', qr/ec must be/],
             ['fg=zzzzzz', 'fg not hex', qr/fg must be/],
             ['bg=%23ffffff', 'bg with its #', qr/bg must be/],
             ['fg=fff&bg=000', 'light on dark', qr/darker than bg/],
             ['fg=777&bg=888', 'too little contrast', qr/contrast/]) {
    my ($query, $what, $detail) = @$bad;
    my $res = qr_svg($query);
    problem_is($res, 422, 'validation_failed', "$what: 422");
    like($res->{json}{detail} // '', $detail, "$what: says why");
}

# --- Open Graph previews ----------------------------------------------------

my $team = $ws->team('Red', $ann);
my $project = made($ws->api($admin, POST => '/api/v1/projects', json => {
    key => 'OGP', name => 'Website relaunch', team_id => $team->{id},
    description => 'The new site, in three phases.' }), 'project');
my $task = made($ws->api($admin, POST => "/api/v1/projects/$project->{id}/tasks",
    json => { title => 'Launch <plan> & "go"',
              description => "First line.\n\nSecond   line.",
              assignee_ids => [ $ann->{id} ] }), 'task');
made($ws->api($admin, POST => "/api/v1/tasks/$task->{id}/comments",
              json => { body => 'a private remark' }), 'comment');

my $tl = create($admin, task_id => $task->{id});

sub follow {
    my ($l, $agent) = @_;
    return $t->req(GET => "/s/$l->{code}", host => $slug,
                   headers => { 'User-Agent' => $agent });
}

$r = follow($tl, $SLACK);
is($r->{status}, 200, 'a chat app\'s crawler at a task\'s link: 200');
like($r->{headers}{'content-type'}, qr{^text/html}, 'an HTML page');
ok(!$r->{headers}{location}, 'not sent on');
my $key = $task->{key} // "OGP-$task->{number}";
like($r->{body},
     qr/<meta property="og:title" content="\Q$key\E: Launch &lt;plan&gt; &amp; &quot;go&quot;">/,
     'og:title: the task\'s key and title, escaped');
like($r->{body},
     qr/<meta property="og:description" content="First line\. Second line\.">/,
     'og:description: its description, on one line');
like($r->{body}, qr/<meta name="twitter:card" content="summary">/,
     'a Twitter card too');
unlike($r->{body}, qr/private remark|\@\Q$slug\E\.example|Ann/,
       'no comments, emails or people');
is($r->{headers}{'cache-control'}, 'private, no-store', 'not cached');

$r = follow($tl, $FIREFOX);
is($r->{status}, 302, 'a person at the same link: 302');
like($r->{headers}{location}, qr{/shared/\Q$tl->{code}\E$},
     'to the shared page');

# a headless browser is counted as a bot, but runs the page's scripts
$r = follow($tl, 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 '
                 . '(KHTML, like Gecko) HeadlessChrome/130.0.0.0 Safari/537.36');
is($r->{status}, 302, 'a headless browser at the same link: 302, like a person');

my $pl = create($admin, project_id => $project->{id});
$r = follow($pl, $SLACK);
is($r->{status}, 200, 'a crawler at a project\'s link: 200');
like($r->{body}, qr/<meta property="og:title" content="Website relaunch">/,
     'og:title: the project\'s name');
like($r->{body},
     qr/<meta property="og:description" content="The new site, in three phases\.">/,
     'og:description: its description');

my $locked = create($admin, task_id => $task->{id}, password => 'open sesame');
$r = follow($locked, $SLACK);
is($r->{status}, 401, 'a password-protected link: the crawler gets the form');
unlike($r->{body}, qr/og:title|Launch/, 'and no preview');

is($ws->api($admin, DELETE => "/api/v1/share-links/$pl->{id}")->{status}, 204,
   'a link revoked');
is(follow($pl, $SLACK)->{status}, 410, 'its preview is gone: 410');

my $url = create($ann, url => 'https://example.com/elsewhere');
is(follow($url, $SLACK)->{status}, 302,
   'a link to a URL: the crawler follows it there, as before');

# the crawler's visit is recorded as a bot's, not counted
my $deadline = time + 5;
my ($bots, $people);
while (1) {
    ($bots, $people) = $ws->dbh->selectrow_array(
        'SELECT count(*) FILTER (WHERE bot), count(*) FILTER (WHERE NOT bot)
           FROM share_link_visits WHERE link_id = ?', undef, $tl->{id});
    last if $bots + $people >= 3 || time > $deadline;
    sleep 0.2;
}
is($bots, 2, 'the preview and the headless browser recorded as bots\' visits');
is(made($ws->api($admin, GET => "/api/v1/share-links/$tl->{id}"), 'link')
       ->{visits}, 1, 'the link counts the person only');

$t->done_testing;
