#!/usr/bin/perl

# POST /api/v1/tenants: self-service sign-up of a workspace.

use strict;
use warnings;

use Test::More;
use Kanban::Test qw(problem_is error_for);

my $t = Kanban::Test->new->run;
my $port = $t->port;

sub signup_body {
    my ($slug, %o) = @_;
    return {
        slug  => $slug,
        name  => "Acme $slug",
        admin => { email => "ada\@$slug.example",
                   password => 'correct horse battery', name => 'Ada' },
        %o,
    };
}

sub post {
    my ($body, %o) = @_;
    return $t->req(POST => '/api/v1/tenants', json => $body, %o)
        if ref $body;
    return $t->req(POST => '/api/v1/tenants', body => $body,
                   headers => { 'Content-Type' => 'application/json' }, %o);
}

# A 422 whose errors name $field with $code (or one of several codes).
sub invalid {
    my ($r, $field, $codes, $name) = @_;
    problem_is($r, 422, 'validation_failed', "$name: 422 validation_failed");
    my $e = error_for($r, $field);
    ok($e, "$name: an error on $field") or diag($r->{body});
    like($e ? $e->{code} // '' : '', qr/^(?:$codes)$/, "$name: $field $codes");
    ok($e && defined $e->{message} && length $e->{message},
       "$name: with a message");
}

sub absent {
    my ($slug, $name) = @_;
    my ($n) = $t->catalog->selectrow_array(
        'SELECT count(*) FROM tenants WHERE slug = ?', undef, $slug);
    is($n, 0, "$name: no tenant $slug in the catalog");
}

my $slug = Kanban::Test::unique_slug('acme');

# The happy path.

my $r = post(signup_body($slug));
is($r->{status}, 201, 'sign-up: 201') or diag($r->{body});
like($r->{headers}{'content-type'} // '', qr{^application/json\b},
     'sign-up: JSON');
my $j = $r->{json} // {};
like($j->{id} // '', qr/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
     'sign-up: a UUID');
is($j->{slug}, $slug, 'sign-up: slug');
is($j->{name}, "Acme $slug", 'sign-up: name');
is($j->{status}, 'active', 'sign-up: active');
like($j->{url} // '', qr{^http://\Q$slug\E\.localhost:$port/?$},
     'sign-up: the workspace URL');
ok($r->{headers}{location}, 'sign-up: Location');

$r = $t->req(GET => '/api/v1/workspace', host => $slug);
is($r->{status}, 200, 'the new workspace answers') or diag($r->{body});
is($r->{json}{slug}, $slug, 'with its slug');
is($r->{json}{name}, "Acme $slug", 'and its name');
ok(JSON::XS::is_bool($r->{json}{open_registration})
   && !$r->{json}{open_registration}, 'invite-only (open_registration false)');

my ($status, $db) = $t->catalog->selectrow_array(
    'SELECT status, db_name FROM tenants WHERE slug = ?', undef, $slug);
is($status, 'active', 'catalog: active');

my $users = $t->tenant_dbh($slug)->selectall_arrayref(
    'SELECT email, name, role, status, password_hash FROM users',
    { Slice => {} });
is(scalar @$users, 1, 'the workspace has one user');
is($users->[0]{email}, "ada\@$slug.example", 'the admin, by email');
is($users->[0]{role}, 'admin', 'who is an admin');
like($users->[0]{password_hash} // '', qr/^\$argon2id\$/,
     'the password is stored as an argon2id hash');

# Taken.

$r = post(signup_body($slug, name => 'Someone else'));
problem_is($r, 409, 'already_exists', 'the same slug again: 409');
$r = $t->req(GET => '/api/v1/workspace', host => $slug);
is($r->{json}{name}, "Acme $slug", 'the first workspace keeps its name');

# The slug.

for my $bad ('ab', 'a' x 33, '1abc', '-abc', 'abc-', 'Acme', 'ac_me',
             'ac.me', 'ac me', "acm\x{e9}")
{
    invalid(post(signup_body($bad)), 'slug', 'invalid_format',
            "slug '" . ($bad =~ s/[^\x20-\x7e]/?/gr) . "'");
}

for my $word (qw(www api admin app static assets mail status health metrics)) {
    invalid(post(signup_body($word)), 'slug', 'reserved', "slug '$word'");
}
invalid(post(signup_body('s')), 'slug', 'reserved|invalid_format', "slug 's'");

my $long = substr('b' . Kanban::Test::unique_slug('x') . ('z' x 32), 0, 32);
$r = post(signup_body($long));
is($r->{status}, 201, '32 characters is a slug') or diag($r->{body});

my $short;
for (1 .. 5) {
    $short = join '', map { ('a' .. 'z')[rand 26] } 1 .. 3;
    $r = post(signup_body($short));
    last unless $r->{status} == 409;
}
is($r->{status}, 201, "3 characters is a slug ($short)") or diag($r->{body});

# Missing, wrong type, unknown.

my %missing = (
    'slug'           => sub { delete $_[0]{slug} },
    'name'           => sub { delete $_[0]{name} },
    'admin'          => sub { delete $_[0]{admin} },
    'admin.email'    => sub { delete $_[0]{admin}{email} },
    'admin.password' => sub { delete $_[0]{admin}{password} },
    'admin.name'     => sub { delete $_[0]{admin}{name} },
);
for my $field (sort keys %missing) {
    my $s = Kanban::Test::unique_slug('miss');
    my $body = signup_body($s);
    $missing{$field}->($body);
    invalid(post($body), $field, 'required', "no $field");
    absent($s, "no $field") if $field ne 'slug';
}

my %wrong = (
    'slug'           => sub { $_[0]{slug} = 42 },
    'name'           => sub { $_[0]{name} = ['Acme'] },
    'admin'          => sub { $_[0]{admin} = 'ada@example.com' },
    'admin.email'    => sub { $_[0]{admin}{email} = { at => 'example' } },
    'admin.password' => sub { $_[0]{admin}{password} = 1234567890123 },
    'admin.name'     => sub { $_[0]{admin}{name} = JSON::XS::true },
);
for my $field (sort keys %wrong) {
    my $s = Kanban::Test::unique_slug('type');
    my $body = signup_body($s);
    $wrong{$field}->($body);
    invalid(post($body), $field, 'invalid_type', "$field of the wrong type");
}

$r = post(signup_body(Kanban::Test::unique_slug('null'), name => undef));
invalid($r, 'name', 'required|invalid_type', 'name null');

$r = post(signup_body(Kanban::Test::unique_slug('unk'), plan => 'pro'));
invalid($r, 'plan', 'unknown_field', 'an unknown field');

my $s = Kanban::Test::unique_slug('unk');
my $body = signup_body($s);
$body->{admin}{role} = 'root';
invalid(post($body), 'admin.role', 'unknown_field', 'an unknown admin field');
absent($s, 'an unknown admin field');

# The password and the email.

for my $case ([9, 'too_short'], [129, 'too_long'], [0, 'too_short|required']) {
    my ($len, $code) = @$case;
    my $s = Kanban::Test::unique_slug('pw');
    my $body = signup_body($s);
    $body->{admin}{password} = 'p' x $len;
    invalid(post($body), 'admin.password', $code, "a password of $len");
    absent($s, "a password of $len");
}

for my $len (10, 128) {
    my $s = Kanban::Test::unique_slug('pw');
    my $body = signup_body($s);
    $body->{admin}{password} = join '', map { ('a' .. 'z', 0 .. 9)[rand 36] }
                                        1 .. $len;
    $r = post($body);
    is($r->{status}, 201, "a password of $len is fine") or diag($r->{body});
}

for my $email ('not-an-email', 'a@', '@example.com', 'a b@example.com',
               'ada@@example.com', '')
{
    my $s = Kanban::Test::unique_slug('mail');
    my $body = signup_body($s);
    $body->{admin}{email} = $email;
    invalid(post($body), 'admin.email', 'invalid_format|required|too_short',
            "email '$email'");
}

# After a 422 the slug is still free.

$s = Kanban::Test::unique_slug('free');
$body = signup_body($s);
$body->{admin}{password} = 'short';
post($body);
$r = post(signup_body($s));
is($r->{status}, 201, 'a slug refused for a bad password can be had')
    or diag($r->{body});

# Bodies that are not JSON objects of UTF-8.

my $ok = JSON::XS->new->utf8->canonical->encode(
    signup_body(Kanban::Test::unique_slug('raw')));

for my $case (
    ['malformed JSON'   => '{"slug": "acme", "name": '],
    ['a trailing comma' => '{"slug": "acme",}'],
    ['trailing garbage' => "$ok x"],
    ['two documents'    => "$ok$ok"],
    ['single quotes'    => q({'slug': 'acme'})],
    ['not UTF-8'        => qq({"slug": "acme", "name": "Caf\xe9"})],
    ['overlong UTF-8'   => qq({"slug": "acme", "name": "\xc0\xaf"})],
    ['a UTF-8 surrogate' => qq({"slug": "acme", "name": "\xed\xa0\x80"})],
    ['beyond U+10FFFF'  => qq({"slug": "acme", "name": "\xf4\x90\x80\x80"})],
    ['truncated UTF-8'  => qq({"slug": "acme", "name": "\xe2\x82"})],
    ['nested 40 deep'   => '{"slug": ' . ('[' x 40) . (']' x 40) . '}'],
    ['an empty body'    => ''],
)
{
    my ($name, $raw) = @$case;
    problem_is(post($raw), 400, 'bad_request', "$name: 400");
}

# A whole, valid sign-up but for bytes that are no UTF-8 in the name.
for my $bytes ("\xff", "\xc0\xaf", "\xed\xa0\x80") {
    my $s = Kanban::Test::unique_slug('utf');
    (my $raw = JSON::XS->new->utf8->canonical->encode(signup_body($s)))
        =~ s/"name":"Acme /"name":"Acme $bytes /;
    my $hex = unpack 'H*', $bytes;
    problem_is(post($raw), 400, 'bad_request',
               "a complete sign-up with 0x$hex in its name: 400");
    absent($s, "0x$hex in the name");
}

$r = post('{"slug": ' . ('[' x 5) . (']' x 5) . '}');
is($r->{status}, 422, 'nested 5 deep is JSON, of the wrong shape')
    or diag($r->{body});

# Content types.

$r = $t->req(POST => '/api/v1/tenants', body => $ok,
             headers => { 'Content-Type' => 'text/plain' });
problem_is($r, 415, 'unsupported_media_type', 'text/plain: 415');

$r = $t->req(POST => '/api/v1/tenants', body => $ok);
problem_is($r, 415, 'unsupported_media_type', 'no Content-Type: 415');

$r = $t->req(POST => '/api/v1/tenants', body => $ok,
             headers => { 'Content-Type' => 'application/x-www-form-urlencoded' });
problem_is($r, 415, 'unsupported_media_type', 'a form: 415');

$r = $t->req(POST => '/api/v1/tenants', body => $ok,
             headers => { 'Content-Type' => 'application/json; charset=utf-8' });
is($r->{status}, 201, 'application/json; charset=utf-8 is JSON')
    or diag($r->{body});

# Sizes: the limit is 1 MiB.

my $big = '{"slug": "big-one", "name": "' . ('n' x (1024 * 1024)) . '"}';

$r = post($big);
problem_is($r, 413, 'payload_too_large', 'over 1 MiB with Content-Length: 413');

$r = post($big, chunked => 16384);
problem_is($r, 413, 'payload_too_large', 'over 1 MiB chunked: 413');

$r = $t->req(POST => '/api/v1/tenants', body => '{}',
             headers => { 'Content-Type' => 'application/json',
                          'Content-Length' => 2 * 1024 * 1024 },
             timeout => 10);
problem_is($r, 413, 'payload_too_large',
           'a Content-Length over 1 MiB, before any body: 413');

my $under = '{"slug": "under-one", "name": "'
    . ('n' x (1024 * 1024 - 100)) . '"}';
$r = post($under);
invalid($r, 'name', 'too_long', 'just under 1 MiB is read and validated');

$r = post($under, chunked => 16384);
invalid($r, 'name', 'too_long', 'just under 1 MiB chunked');

$r = post(signup_body(Kanban::Test::unique_slug('chunk')), chunked => 7);
is($r->{status}, 201, 'a small chunked body is fine') or diag($r->{body});

Kanban::Test->done_testing;
