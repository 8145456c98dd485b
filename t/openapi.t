#!/usr/bin/perl

# The OpenAPI document, html/openapi.yaml, is the API's contract: redocly
# lints it with its recommended rules (t/openapi/redocly.yaml; the few
# exceptions are in t/openapi/.redocly.lint-ignore.yaml, with their reason), and
# it must come out without an error or a warning.  That every response the
# tests receive matches it is checked by the harness (Kanban::OpenAPI) in
# every file; here, what the document itself promises.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

my $root = "$FindBin::Bin/..";
my $redocly = "$root/t/openapi/node_modules/.bin/redocly";

ok(-x $redocly, 'redocly is installed (npm ci --prefix t/openapi)')
    or BAIL_OUT('no redocly');

my $out = `cd '$root/t/openapi' && '$redocly' lint --config redocly.yaml --format=stylish ../../html/openapi.yaml 2>&1`;
my $rc = $? >> 8;
my @problems = grep { /^\s+\d+:\d+\s+(error|warning)\s/ } split /\n/, $out;

is($rc, 0, 'redocly lint exits 0');
is(scalar @problems, 0, 'redocly lint: no error, no warning')
    or diag join "\n", @problems;
like($out, qr/Your API description is valid/, 'redocly says the document is valid');

# What the document covers: every route of the route table, and the
# operations around it.
open my $fh, '<', "$root/html/openapi.yaml" or die $!;
my $doc = do { local $/; <$fh> };
# the route tables, each module's own
my $routes = '';
for my $file (glob("$root/modules/*/ngx_kanban_*.c")) {
    open $fh, '<', $file or die $!;
    local $/;
    my $text = <$fh>;
    $routes .= $text if $text =~ /_routes\[\] = \{/;
}

my (%doc, $path);
for (split /\n/, $doc) {
    if (/^  (\/\S*):$/) { $path = $1; next }
    last if /^components:/;
    $doc{uc($1) . " $path"} = 1 if $path && /^    (get|put|post|patch|delete):$/;
}

my @table = $routes =~ /NGX_HTTP_(GET|POST|PUT|PATCH|DELETE),\s*"([^"]+)"/g;
my @missing;
while (my ($method, $p) = splice @table, 0, 2) {
    push @missing, "$method $p" unless $doc{"$method $p"};
}
is(scalar @missing, 0, 'every route of the route tables is documented')
    or diag "not in html/openapi.yaml: @missing";

my @ops = $doc =~ /^      operationId: (\S+)$/mg;
my %seen;
is(scalar(grep { $seen{$_}++ } @ops), 0, 'operationIds are unique');
cmp_ok(scalar @ops, '>=', scalar(keys %doc), 'every operation has an operationId');
note(scalar(@ops) . ' operations documented');

done_testing;
