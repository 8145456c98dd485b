package Kanban::TOTP;

# RFC 6238 codes for tests, written from the RFC (not from the module's C),
# so that a test checks the server against the standard:
#
#     my $code = Kanban::TOTP::code($base32_secret);          # now
#     my $next = Kanban::TOTP::code($base32_secret, step => Kanban::TOTP::step() + 1);

use strict;
use warnings;

use Digest::SHA qw(hmac_sha1);

sub decode_base32 {
    my ($text) = @_;
    (my $s = uc $text) =~ s/[\s=-]//g;
    my $bits = join '', map {
        my $v = index('ABCDEFGHIJKLMNOPQRSTUVWXYZ234567', $_);
        die "not base32: $text" if $v < 0;
        sprintf '%05b', $v;
    } split //, $s;
    $bits = substr $bits, 0, length($bits) - length($bits) % 8;
    return pack 'B*', $bits;
}

sub step { int(($_[0] // time) / 30) }

sub code {
    my ($secret, %o) = @_;
    my $step = $o{step} // step();
    my $mac = hmac_sha1(pack('N2', int($step / 2**32), $step % 2**32),
                        decode_base32($secret));
    my $offset = ord(substr $mac, -1) & 0x0f;
    my $bin = unpack('N', substr $mac, $offset, 4) & 0x7fffffff;
    return sprintf '%06d', $bin % 1_000_000;
}

1;
