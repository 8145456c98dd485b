#!/usr/bin/perl

# The generative test: it reads html/openapi.yaml and, for every operation
# of a workspace's API, sends valid, boundary and invalid requests made from
# the document itself: each body field null, missing, of every wrong type,
# empty, at and past its bound; unknown fields; ids that are not UUIDs or
# name nothing; query parameters malformed, out of range or of no enum;
# bodies that are not JSON, not objects, of another media type or in broken
# chunked framing; no token.  None may give a 5xx, every refusal must be
# problem+json, and every answer matches the document (the harness checks
# that for every response of every file).
#
# API_FUZZ_CASES (default 4) cases per operation, picked from all the
# mutations by API_FUZZ_SEED (default 1); `make fuzz-api` runs many.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use JSON::XS;
use List::Util qw(shuffle);
use Test::More;
use Kanban::Test;

my $CASES = $ENV{API_FUZZ_CASES} // 4;
my $SEED = $ENV{API_FUZZ_SEED} // 1;

my $root = "$FindBin::Bin/..";
my $json = JSON::XS->new->utf8->canonical->allow_nonref;
my $doc_text = `node '$root/t/openapi/dump.mjs' '$root/html/openapi.yaml'`;
plan skip_all => 'node and t/openapi/node_modules are needed'
    unless $? == 0 && $doc_text;
my $doc = $json->decode($doc_text);

my $t = Kanban::Test->new->run;
my $ws = $t->workspace(prefix => 'fuzz');
my $admin = $ws->admin;

# Something of every kind for the path ids to name.
my %id = fixtures();

srand $SEED;

my ($ops, $sent, @fivexx, @not_problem) = (0, 0);

my @ops;
for my $path (sort keys %{ $doc->{paths} }) {
    next unless $path =~ m{^/api/v1/} && $path ne '/api/v1/events'
        && $path ne '/api/v1/tenants' && $path ne '/api/v1/openapi.yaml';
    for my $method (qw(get post put patch delete)) {
        my $op = $doc->{paths}{$path}{$method} or next;
        push @ops, [$method, $path, $op];
    }
}

# deletions last, so that the others still find what they name
@ops = ((grep { $_->[0] ne 'delete' } @ops), (grep { $_->[0] eq 'delete' } @ops));

for my $o (@ops) {
    my ($method, $path, $op) = @$o;
    my @cases = cases($method, $path, $op);
    my @picked = (shift @cases);            # the valid one first
    push @picked, (shuffle @cases)[0 .. $CASES - 2] if $CASES > 1;
    @picked = grep { defined } @picked;
    $ops++;

    for my $c (@picked) {
        my $r = send_case($method, $c);
        $sent++;
        my $what = uc($method) . " $c->{path} ($c->{name})";
        if ($r->{status} >= 500 || $r->{status} == 0) {
            push @fivexx, "$what: $r->{status} " . substr($r->{body}, 0, 200);
        } elsif ($r->{status} >= 400
                 && ($r->{headers}{'content-type'} // '')
                    !~ m{^application/problem\+json})
        {
            push @not_problem, "$what: $r->{status} "
                . ($r->{headers}{'content-type'} // '(none)');
        }
    }
}

is(scalar @fivexx, 0, "no 5xx in $sent requests to $ops operations")
    or diag join "\n", @fivexx[0 .. ($#fivexx > 29 ? 29 : $#fivexx)];
is(scalar @not_problem, 0, 'every refusal is problem+json')
    or diag join "\n", @not_problem[0 .. ($#not_problem > 29 ? 29 : $#not_problem)];
diag("api_fuzz: $ops operations, $sent requests ($CASES a operation, "
     . "seed $SEED), " . scalar(@fivexx) . ' 5xx');

$t->done_testing;


###########################################################################

sub api {
    my ($method, $path, $body) = @_;
    my $r = $ws->api($admin, $method => $path,
                     defined $body ? (json => $body) : ());
    die "$method $path: $r->{status} $r->{body}"
        unless $r->{status} =~ /^20/;
    return $r->{json};
}

sub fixtures {
    my $p = api(POST => '/api/v1/projects', { key => 'FUZ', name => 'Fuzz' });
    my $cols = api(GET => "/api/v1/projects/$p->{id}/columns");
    my $task = api(POST => "/api/v1/projects/$p->{id}/tasks",
                   { title => 'Fuzzed', labels => ['x'] });
    my $other = api(POST => "/api/v1/projects/$p->{id}/tasks",
                    { title => 'Other' });
    my $user = api(POST => '/api/v1/users', { email => 'fuzz@fuzz.example',
                   name => 'Fuzz', role => 'contributor' });
    my $team = api(POST => '/api/v1/teams', { name => 'Fuzzers' });
    my $entry = api(POST => '/api/v1/timesheets/entries',
                    { date => '2026-11-16', minutes => 30,
                      task_id => $task->{id} });
    my %id = (
        projects => $p->{id}, columns => $cols->{items}[0]{id},
        tasks => $task->{id}, other_id => $other->{id},
        users => $user->{id}, user_id => $user->{id}, teams => $team->{id},
        comments => api(POST => "/api/v1/tasks/$task->{id}/comments",
                        { body => 'hi' })->{id},
        milestones => api(POST => "/api/v1/projects/$p->{id}/milestones",
                          { name => 'M', due_date => '2027-01-01' })->{id},
        sprints => api(POST => "/api/v1/projects/$p->{id}/sprints",
                       { name => 'S' })->{id},
        swimlanes => api(POST => "/api/v1/projects/$p->{id}/swimlanes",
                         { name => 'L' })->{id},
        'custom-fields' => api(POST => '/api/v1/custom-fields',
                               { name => 'F', type => 'text' })->{id},
        'share-links' => api(POST => '/api/v1/share-links',
                             { task_id => $task->{id} })->{id},
        entries => $entry->{id},
        'api-tokens' => api(POST => '/api/v1/api-tokens',
                            { name => 'f', scopes => ['read'] })->{id},
        attachments => $ws->api($admin, POST => "/api/v1/tasks/$task->{id}"
                                . '/attachments?filename=f.txt',
                                body => 'hello',
                                headers => { 'Content-Type' => 'text/plain' })
                           ->{json}{id},
        team => $team->{id},
    );
    $id{code} = api(GET => "/api/v1/share-links/$id{'share-links'}")->{code};
    return %id;
}

# The id a path parameter names: by the collection before it.
sub fill {
    my ($path, $how) = @_;
    my @seg = split m{/}, $path;
    for my $i (0 .. $#seg) {
        next unless $seg[$i] =~ /^\{(\w+)\}$/;
        my $name = $1;
        my $kind = $name eq 'id' ? $seg[$i - 1] : $name;
        $kind = 'team' if $kind eq 'team' || ($seg[$i - 1] // '') eq 'team';
        $kind = 'users' if $kind eq 'user_id';
        my $v = $id{$kind} // $id{tasks};
        $v = 'not-a-uuid' if $how eq 'bad' && $i == $#seg - ($path =~ /\}$/ ? 0 : 1);
        $v = '00000000-0000-4000-8000-000000000000' if $how eq 'none';
        $seg[$i] = $v;
    }
    return join '/', @seg;
}

sub deref {
    my ($s) = @_;
    while (ref $s eq 'HASH' && $s->{'$ref'}) {
        my @p = split m{/}, substr($s->{'$ref'}, 2);
        $s = $doc;
        $s = $s->{$_} for @p;
    }
    return $s;
}

sub types_of {
    my ($s) = @_;
    my $t = $s->{type} // ($s->{'$ref'} ? 'string' : '');
    return ref $t ? @$t : ($t);
}

# Values of every wrong type for a schema.
sub wrong_values {
    my ($s) = @_;
    $s = deref($s);
    my %is = map { $_ => 1 } types_of($s);
    my @v;
    push @v, ['integer', 12345] unless $is{integer} || $is{number};
    push @v, ['number', 1.5] unless $is{number};
    push @v, ['string', 'text'] unless $is{string};
    push @v, ['boolean', JSON::XS::true] unless $is{boolean};
    push @v, ['array', [1, 'a', undef]] unless $is{array};
    push @v, ['object', { a => 1 }] unless $is{object};
    push @v, ['negative', -1] if $is{integer};
    push @v, ['huge', 1e30] if $is{integer};
    push @v, ['2^63', 9223372036854775808] if $is{integer};
    if ($is{string}) {
        push @v, ['empty', ''];
        push @v, ['astral+rtl', "\x{1F600}\x{202E}\x{05D0}\x{0000}x"];
        push @v, ['100k', 'x' x 100_000];
        if (my $max = $s->{maxLength}) {
            push @v, ['at maxLength', 'y' x $max], ['past maxLength', 'y' x ($max + 1)];
        }
        push @v, ['bad format', 'not-a-' . ($s->{format} // 'value')]
            if $s->{format} || $s->{enum} || $s->{pattern};
        push @v, ['not a date', '2026-02-30'] if ($s->{format} // '') =~ /date/;
    }
    if ($is{array}) {
        push @v, ['[null]', [undef]], ['[{}]', [{}]], ['[[]]', [[]]],
                 ['long array', [('z') x 300]];
    }
    return @v;
}

sub cases {
    my ($method, $path, $op) = @_;
    my @c;
    my $valid_path = fill($path, 'ok');
    my $body_media = $op->{requestBody}{content} // {};
    my $json_body = $body_media->{'application/json'};
    my $example = $json_body ? $json_body->{example} : undef;
    $example = fix_ids($example) if $example;

    my %query;
    for my $p (map { deref($_) } @{ $op->{parameters} // [] }) {
        next unless $p->{in} eq 'query';
        $query{$p->{name}} = $p;
    }
    my $q_ok = join '&', map { "$_=" . query_value($query{$_}) }
                         grep { $query{$_}{required} } sort keys %query;
    my $with = sub { my ($p, $q) = @_; $q ? "$p?$q" : $p };

    my $raw = $body_media->{'*/*'};
    my %base = (path => $with->($valid_path, $q_ok));
    $base{json} = $example if $json_body;
    if ($raw) {
        $base{body} = 'bytes';
        $base{headers} = { 'Content-Type' => 'application/octet-stream' };
    }
    push @c, { %base, name => 'valid' };

    # path ids
    if ($path =~ /\{/) {
        push @c, { %base, name => 'id not a UUID',
                   path => $with->(fill($path, 'bad'), $q_ok) };
        push @c, { %base, name => 'id of nothing',
                   path => $with->(fill($path, 'none'), $q_ok) };
    }

    # query parameters
    for my $name (sort keys %query) {
        my $s = deref($query{$name}{schema});
        for my $v (['empty', ''], ['bad', 'bogus%00x'], ['zero', '0'],
                   ['negative', '-5'], ['huge', '99999999999999999999'],
                   ['long', 'q' x 5000], ['bad date', '2026-13-45'],
                   ['bad uuid', '1234'], ['encoded', '%E2%80%AE%F0%9F%98%80'])
        {
            my %q = map { $_ => query_value($query{$_}) }
                    grep { $query{$_}{required} } keys %query;
            $q{$name} = $v->[1];
            push @c, { %base, name => "?$name $v->[0]",
                       path => $with->($valid_path,
                                       join '&', map { "$_=$q{$_}" } sort keys %q) };
        }
    }

    # the body
    if ($json_body) {
        my $schema = deref($json_body->{schema});
        if (($schema->{type} // '') eq 'object') {
            my $props = $schema->{properties} // {};
            my %required = map { $_ => 1 } @{ $schema->{required} // [] };
            for my $f (sort keys %$props) {
                my $b = { %{ ref $example eq 'HASH' ? $example : {} } };
                push @c, { %base, name => "$f null", json => { %$b, $f => undef } };
                my %m = %$b; delete $m{$f};
                push @c, { %base, name => "$f missing", json => \%m }
                    if $required{$f};
                for my $w (wrong_values($props->{$f})) {
                    push @c, { %base, name => "$f $w->[0]",
                               json => { %$b, $f => $w->[1] } };
                }
            }
            push @c, { %base, name => 'unknown field',
                       json => { %{ $example // {} }, surprise => 1 } };
        }
        push @c, { %base, name => 'empty object', json => {} };
        push @c, { %base, name => 'array body', json => [] };
        push @c, { %base, name => 'number body', json => 7 };
        push @c, { %base, name => 'null body', json => undef, body => 'null',
                   headers => { 'Content-Type' => 'application/json' } };
        push @c, framing(\%base);
    } elsif ($method =~ /^(post|put|patch)$/) {
        push @c, framing(\%base);
    }

    push @c, { %base, name => 'no token', anonymous => 1 };

    return @c;
}

sub framing {
    my ($base) = @_;
    my %b = %$base;
    delete $b{json};
    return (
        { %b, name => 'not JSON', body => '{"title": ',
          headers => { 'Content-Type' => 'application/json' } },
        { %b, name => 'not UTF-8', body => "{\"name\": \"\xff\xfe\"}",
          headers => { 'Content-Type' => 'application/json' } },
        { %b, name => 'text/plain', body => 'hello',
          headers => { 'Content-Type' => 'text/plain' } },
        { %b, name => 'deep', body => ('[' x 100) . (']' x 100),
          headers => { 'Content-Type' => 'application/json' } },
        { %b, name => 'duplicate member', body => '{"a": 1, "a": 2}',
          headers => { 'Content-Type' => 'application/json' } },
        { %b, name => 'broken chunked', body => "zz\r\n{}\r\n0\r\n\r\n",
          headers => { 'Content-Type' => 'application/json',
                       'Content-Length' => undef,
                       'Transfer-Encoding' => 'chunked' } },
        { %b, name => 'broken chunked, no token', anonymous => 1,
          body => "zz\r\n{}\r\n0\r\n\r\n",
          headers => { 'Content-Type' => 'application/json',
                       'Content-Length' => undef,
                       'Transfer-Encoding' => 'chunked' } },
    );
}

sub query_value {
    my ($p) = @_;
    my $s = deref($p->{schema});
    return $s->{enum}[0] if $s->{enum};
    return $id{projects} if ($s->{format} // '') eq 'uuid';
    return '2026-11-01' if ($s->{format} // '') eq 'date';
    return 'fuzz.txt' if $p->{name} eq 'filename';
    return 'FZ' . int(rand 1e6) if $p->{name} eq 'key';
    return 'zebra' if $p->{name} eq 'q';
    return '2026-W47' if $p->{name} eq 'week';
    return 10 if ($s->{type} // '') eq 'integer';
    return 'x';
}

# The document's examples name ids of its own; ours where we have them.
sub fix_ids {
    my ($v) = @_;
    my $text = $json->encode($v);
    my %by = (column_id => $id{columns}, task_id => $id{tasks},
              depends_on_id => $id{other_id}, user_id => $id{users},
              skill_id => $id{users}, after_id => $id{other_id},
              project_id => $id{projects});
    $text =~ s/"(\w+_id)":"[0-9a-f-]{36}"/'"' . $1 . '":"' . ($by{$1} \/\/ $id{tasks}) . '"'/ge;
    return $json->decode($text);
}

sub send_case {
    my ($method, $c) = @_;
    my %o;
    $o{headers} = { %{ $c->{headers} // {} } };
    if (exists $c->{json} && !defined $c->{body}) {
        $o{json} = $c->{json};
    } elsif (defined $c->{body}) {
        $o{body} = $c->{body};
    }
    $o{headers}{Authorization} = undef if $c->{anonymous};
    return $ws->api($c->{anonymous} ? undef : $admin, uc $method => $c->{path},
                    %o);
}
