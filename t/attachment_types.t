#!/usr/bin/perl

# Attachments' types (ASVS 5.2.2, 3.2.1): the Content-Type an upload is
# sent with is checked against the file's first bytes, with real files (a
# PNG of this repository, a PDF made by Chromium, this machine's
# /bin/true). A PNG or PDF that is not one is 422 type_mismatch; a
# program (ELF, PE, Mach-O: by its bytes or by the type it is sent as)
# and an SVG with script are 422 dangerous_type. Files a browser would
# render as a page (HTML, SVG, XML) are stored, and served as
# application/octet-stream, as an attachment, with nosniff and a sandbox.

use strict;
use warnings;

use FindBin;
use Test::More;
use Kanban::Test qw(problem_is error_for);

my $t = Kanban::Test->new->run;
my $ws = $t->workspace(prefix => 'atype');
my $admin = $ws->admin;

my $pid = $ws->api($admin, POST => '/api/v1/projects',
                   json => { key => 'TYP', name => 'Types' })->{json}{id};
my $tid = $ws->api($admin, POST => "/api/v1/projects/$pid/tasks",
                   json => { title => 'Files' })->{json}{id};

sub slurp {
    my ($file) = @_;
    open my $fh, '<:raw', $file or die "$file: $!";
    local $/;
    return scalar <$fh>;
}

sub upload {
    my ($name, $type, $bytes) = @_;
    return $ws->api($admin, POST => "/api/v1/tasks/$tid/attachments"
                    . "?filename=$name", body => $bytes,
                    headers => { 'Content-Type' => $type });
}

sub refused {
    my ($r, $code, $name) = @_;
    problem_is($r, 422, 'validation_failed', $name);
    my $e = error_for($r, 'content_type');
    is($e && $e->{code}, $code, "... $code on content_type");
}

sub download {
    my ($id) = @_;
    return $ws->api($admin, GET => "/api/v1/attachments/$id");
}

my $png = slurp("$FindBin::Bin/../html/docs/board.png");
my $pdf = slurp("$FindBin::Bin/data/attachments/one-page.pdf");
my $elf = slurp('/bin/true');
like(substr($elf, 0, 4), qr/^\x7fELF/, '/bin/true is an ELF program');

# --- what the type promises, the bytes keep ------------------------------------

my $r = upload('board.png', 'image/png', $png);
is($r->{status}, 201, 'a real PNG as image/png: 201');
my $png_id = $r->{json}{id};
$r = download($png_id);
is($r->{headers}{'content-type'}, 'image/png', '... served as image/png');
is($r->{body}, $png, '... byte for byte');

$r = upload('page.pdf', 'application/pdf', $pdf);
is($r->{status}, 201, 'a real PDF as application/pdf: 201');
$r = upload('page.pdf', 'Application/PDF; name=x', $pdf);
is($r->{status}, 201, '... the type in any case, with parameters: 201');

refused(upload('board.pdf', 'application/pdf', $png), 'type_mismatch',
        'a PNG sent as application/pdf');
refused(upload('page.png', 'image/png', $pdf), 'type_mismatch',
        'a PDF sent as image/png');
refused(upload('x.jpg', 'image/jpeg', "<html><script>alert(1)</script>"),
        'type_mismatch', 'HTML sent as image/jpeg');
refused(upload('x.docx', 'application/vnd.openxmlformats-officedocument.'
               . 'wordprocessingml.document', $pdf), 'type_mismatch',
        'a PDF sent as a Word document (a ZIP file)');

# --- programs ---------------------------------------------------------------

refused(upload('true', 'application/octet-stream', $elf), 'dangerous_type',
        'an ELF program (/bin/true) as application/octet-stream');
refused(upload('true.txt', 'text/plain', $elf), 'dangerous_type',
        '... or as text/plain');
refused(upload('setup.exe', 'application/octet-stream',
               "MZ\x90\0\x03\0\0\0" . ("\0" x 56) . "This program cannot be "
               . "run in DOS mode."), 'dangerous_type', 'a PE (MZ) program');
refused(upload('a.out', 'application/octet-stream',
               "\xcf\xfa\xed\xfe" . ("\0" x 28)), 'dangerous_type',
        'a Mach-O program');
refused(upload('tool.exe', 'application/x-msdownload', 'not really'),
        'dangerous_type', 'anything sent as application/x-msdownload');

# --- SVG ----------------------------------------------------------------------

my $svg = qq{<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" }
        . qq{width="10" height="10"><rect width="10" height="10" }
        . qq{fill="#09c"/></svg>\n};
refused(upload('x.svg', 'image/svg+xml',
               $svg =~ s{<rect}{<script>alert(document.cookie)</script><rect}r),
        'dangerous_type', 'an SVG with <script>');
refused(upload('x.svg', 'image/svg+xml',
               $svg =~ s{<rect }{<rect onload="alert(1)" }r),
        'dangerous_type', 'an SVG with an onload handler');
refused(upload('x.svg', 'image/svg+xml',
               $svg =~ s{<rect[^>]*>}{<a href="javascript:alert(1)"><text>x</text></a>}r),
        'dangerous_type', 'an SVG with a javascript: link');
refused(upload('x.txt', 'text/plain',
               $svg =~ s{<rect}{<foreignObject><iframe/></foreignObject><rect}r),
        'dangerous_type', 'an SVG with an embedded page, whatever its type');

$r = upload('logo.svg', 'image/svg+xml', $svg);
is($r->{status}, 201, 'an SVG without script: 201');
is($r->{json}{content_type}, 'image/svg+xml', '... stored as sent');
my $svg_id = $r->{json}{id};

# --- pages are served as bytes -------------------------------------------------

my $html = "<!doctype html><title>x</title><script>alert(1)</script>";
$r = upload('page.html', 'text/html; charset=utf-8', $html);
is($r->{status}, 201, 'an HTML page: stored (201)');
my $html_id = $r->{json}{id};

for ([$html_id, 'the HTML page', $html], [$svg_id, 'the SVG', $svg]) {
    my ($id, $what, $bytes) = @$_;
    $r = download($id);
    is($r->{status}, 200, "$what: 200");
    is($r->{headers}{'content-type'}, 'application/octet-stream',
       '... served as application/octet-stream');
    like($r->{headers}{'content-disposition'}, qr/^attachment;/,
         '... as an attachment');
    is($r->{headers}{'x-content-type-options'}, 'nosniff', '... nosniff');
    like($r->{headers}{'content-security-policy'}, qr/\bsandbox\b/,
         '... in a sandbox');
    is($r->{body}, $bytes, '... byte for byte');
}

# HTML sent as text/plain stays text/plain, which nosniff keeps a text
$r = upload('notes.txt', 'text/plain', $html);
is($r->{status}, 201, 'HTML sent as text/plain: 201');
$r = download($r->{json}{id});
is($r->{headers}{'content-type'}, 'text/plain', '... served as text/plain');
is($r->{headers}{'x-content-type-options'}, 'nosniff', '... with nosniff');

# a page stored before the check, with whatever type, is served as bytes too
$ws->dbh->do(q{UPDATE attachments SET content_type = 'application/xhtml+xml'
                WHERE id = ?}, undef, $png_id);
$r = download($png_id);
is($r->{headers}{'content-type'}, 'application/octet-stream',
   'a stored application/xhtml+xml: application/octet-stream');

my ($n) = $ws->dbh->selectrow_array(
    'SELECT count(*) FROM attachments WHERE task_id = ?', undef, $tid);
is($n, 6, 'only the accepted files were stored');

$t->done_testing;
