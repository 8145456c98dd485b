package Kanban::IdP;

# A fake identity provider for the tests: a real HTTP server on 127.0.0.1
# (in a process of its own, each request served in a child), that is an
# OpenID Connect issuer (discovery, JWKS, authorize, token) and a GitHub
# (authorize, access_token, the user API and /user/emails) at once. Its
# keys are made here with openssl(1); ID tokens are RS256, or ES256.
#
# The authorize endpoint answers at once, as if the person had agreed: a
# 302 back to redirect_uri with a code and the state. The token endpoint
# checks what a real one does: the code (once), the client's secret
# (HTTP Basic for OIDC, the form for GitHub), redirect_uri, and PKCE.
#
# What it says about the person, and what it gets wrong on purpose, is
# set() by the test (all of it at once; the rest back to defaults):
#   sub, email, email_verified, name     who signs in
#   aud, iss, azp, nonce, exp, iat       claims (exp, iat: seconds from now)
#   sign => 'other'                      signed by a key not in the JWKS
#   alg => 'ES256'                       signed with the EC key
#   rotate => 1                          a new key, published under a new
#                                        kid (the JWKS has both)
#   slow => N                            the token endpoint waits N s
#   down => 1                            every answer: connection closed
#   emails => [...]                      GitHub's /user/emails
#
#     my $idp = Kanban::IdP->new(client_id => 'kanban', secret => 's3');
#     $idp->issuer;                      # http://127.0.0.1:PORT
#     $idp->set(email => 'pam@x.example', email_verified => JSON::XS::true);

use strict;
use warnings;

use Digest::SHA qw(sha256);
use Fcntl qw(:flock SEEK_SET);
use File::Temp qw(tempdir);
use IO::Socket::INET;
use JSON::XS;
use MIME::Base64 qw(encode_base64 decode_base64);
use POSIX qw(_exit);
use Time::HiRes qw(sleep);

my $JSON = JSON::XS->new->canonical;


sub new {
    my ($class, %o) = @_;

    my $listen = IO::Socket::INET->new(LocalAddr => '127.0.0.1:0',
                                       Listen => 128, ReuseAddr => 1)
        or die "idp: $!";
    my $dir = tempdir('idp-XXXXXX', TMPDIR => 1, CLEANUP => 1);

    my $self = bless { port => $listen->sockport, dir => $dir,
                       parent => $$, client_id => $o{client_id},
                       secret => $o{secret} }, $class;

    $self->_key('rsa', 'genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048');
    $self->_key('other', 'genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048');
    $self->_key('next', 'genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048');
    $self->_key('ec', 'genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256');
    $self->set;
    _write("$dir/codes", '{}');
    _write("$dir/log", '');

    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        $SIG{CHLD} = 'IGNORE';
        $SIG{TERM} = sub { _exit(0) };
        while (1) {
            my $c = $listen->accept or next;
            my $child = fork;
            if (defined $child && $child == 0) {
                eval { $self->_serve($c) };
                warn "idp: $@" if $@;
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
sub issuer { "http://127.0.0.1:$_[0]{port}" }

sub set {
    my ($self, %mode) = @_;
    _write("$self->{dir}/mode", $JSON->encode(\%mode));
}

# every request so far: {method, path, query, headers, body}
sub requests {
    my ($self) = @_;
    open my $fh, '<', "$self->{dir}/log" or return ();
    return map { $JSON->decode($_) } <$fh>;
}

sub stop {
    my ($self) = @_;
    return unless $self->{pid} && $$ == $self->{parent};
    kill 'TERM', $self->{pid};
    waitpid $self->{pid}, 0;
    delete $self->{pid};
}

sub DESTROY { $_[0]->stop }


# keys

sub _openssl {
    my ($args) = @_;
    my $out = `openssl $args 2>&1`;
    die "openssl $args: $out" if $?;
    return $out;
}

sub b64u {
    my $s = encode_base64($_[0], '');
    $s =~ tr{+/}{-_};
    $s =~ s/=+$//;
    return $s;
}

sub _key {
    my ($self, $name, $gen) = @_;
    my $pem = "$self->{dir}/$name.pem";
    _openssl("$gen -out $pem");
    my $der = _openssl_bin("pkey -in $pem -pubout -outform DER");
    my %jwk = (kid => substr(b64u(sha256($der)), 0, 16), use => 'sig');
    if ($name eq 'ec') {
        my $point = substr($der, -64);
        %jwk = (%jwk, kty => 'EC', crv => 'P-256', alg => 'ES256',
                x => b64u(substr($point, 0, 32)),
                y => b64u(substr($point, 32)));
    } else {
        my ($hex) = _openssl("rsa -in $pem -noout -modulus") =~ /=([0-9A-F]+)/;
        %jwk = (%jwk, kty => 'RSA', alg => 'RS256', e => 'AQAB',
                n => b64u(pack 'H*', $hex));
    }
    $self->{keys}{$name} = { pem => $pem, jwk => \%jwk };
}

sub _openssl_bin {
    my ($args) = @_;
    open my $fh, '-|', "openssl $args 2>/dev/null" or die;
    binmode $fh;
    local $/;
    my $out = <$fh>;
    close $fh;
    return $out;
}

sub _sign {
    my ($self, $name, $input) = @_;
    my $n = "$self->{dir}/in.$$";
    _write($n, $input);
    my $sig = _openssl_bin("dgst -sha256 -sign $self->{keys}{$name}{pem} $n");
    unlink $n;
    return $name eq 'ec' ? _der_to_raw($sig) : $sig;
}

# ECDSA-Sig-Value (DER) to r || s
sub _der_to_raw {
    my @b = unpack 'C*', $_[0];
    my $i = 2;
    $i++ if $b[1] & 0x80;
    my $raw = '';
    for (1 .. 2) {
        $i++;                               # INTEGER
        my $n = $b[$i++];
        my $int = pack 'C*', @b[$i .. $i + $n - 1];
        $i += $n;
        $int =~ s/^\x00+//;
        $raw .= ("\x00" x (32 - length $int)) . $int;
    }
    return $raw;
}

sub id_token {
    my ($self, $mode, $code) = @_;
    my $now = time;
    my $key = $mode->{alg} && $mode->{alg} eq 'ES256' ? 'ec'
            : $mode->{rotate} ? 'next' : 'rsa';
    my $kid = $self->{keys}{$key}{jwk}{kid};
    $key = 'other' if ($mode->{sign} // '') eq 'other';
    my %c = (iss => $self->issuer, sub => 'oidc-subject-1',
             aud => $code->{client_id}, nonce => $code->{nonce},
             iat => $now, exp => $now + 300);
    for my $k (qw(sub email email_verified name aud iss azp nonce)) {
        $c{$k} = $mode->{$k} if exists $mode->{$k};
    }
    $c{exp} = $now + $mode->{exp} if exists $mode->{exp};
    $c{iat} = $now + $mode->{iat} if exists $mode->{iat};
    my $head = b64u($JSON->encode({ alg => $key eq 'ec' ? 'ES256' : 'RS256',
                                    typ => 'JWT', kid => $kid }));
    my $body = b64u($JSON->encode(\%c));
    return "$head.$body." . b64u($self->_sign($key, "$head.$body"));
}


# HTTP

sub _write {
    my ($file, $text) = @_;
    open my $fh, '>', $file or die "$file: $!";
    print $fh $text;
    close $fh;
}

sub _read {
    my ($file) = @_;
    open my $fh, '<', $file or die "$file: $!";
    local $/;
    return scalar <$fh>;
}

sub _form {
    my %f;
    for (split /&/, $_[0] // '') {
        my ($k, $v) = split /=/, $_, 2;
        ($k, $v) = map { my $s = $_ // ''; $s =~ tr/+/ /;
                         $s =~ s/%([0-9A-Fa-f]{2})/chr hex $1/ge; $s } $k, $v;
        $f{$k} = $v;
    }
    return \%f;
}

sub _answer {
    my ($c, $status, $body, $extra) = @_;
    $body = $JSON->encode($body) if ref $body;
    print $c "HTTP/1.1 $status X\r\nContent-Type: application/json\r\n"
             . ($extra // '')
             . "Content-Length: " . length($body) . "\r\n"
             . "Connection: close\r\n\r\n$body";
    close $c;
}

sub _serve {
    my ($self, $c) = @_;

    my $head = '';
    while ($head !~ /\r\n\r\n/) {
        my $n = sysread $c, $head, 4096, length $head;
        return unless $n;
    }
    my ($hdr, $body) = split /\r\n\r\n/, $head, 2;
    my ($line, @lines) = split /\r\n/, $hdr;
    my ($method, $target) = split / /, $line;
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
    my ($path, $query) = split /\?/, $target, 2;

    open my $log, '>>', "$self->{dir}/log" or die;
    flock $log, LOCK_EX;
    print $log $JSON->encode({ method => $method, path => $path,
                               query => $query // '', headers => \%h,
                               body => $body }), "\n";
    close $log;

    my $mode = $JSON->decode(_read("$self->{dir}/mode"));
    return close $c if $mode->{down};

    my $q = _form($query);
    my $f = _form($body);
    my $base = $self->issuer;

    if ($path eq '/.well-known/openid-configuration') {
        return _answer($c, 200, {
            issuer => $mode->{doc_issuer} // $base,
            authorization_endpoint => "$base/authorize",
            token_endpoint => "$base/token",
            jwks_uri => "$base/jwks",
            id_token_signing_alg_values_supported => ['RS256', 'ES256'] });
    }

    if ($path eq '/jwks') {
        my @keys = map { $self->{keys}{$_}{jwk} } 'rsa', 'ec';
        push @keys, $self->{keys}{next}{jwk} if $mode->{rotate};
        return _answer($c, 200, { keys => \@keys });
    }

    if ($path eq '/authorize' || $path eq '/login/oauth/authorize') {
        # each request is a fork of one process: rand would repeat itself
        open my $rnd, '<:raw', '/dev/urandom' or die;
        read $rnd, my $bytes, 24;
        my $code = b64u($bytes);
        $self->_codes(sub { $_[0]{$code} = { %$q, used => 0 } });
        my $to = $q->{redirect_uri} . '?code=' . $code . '&state='
                 . ($q->{state} =~ s/([^A-Za-z0-9_.~-])/sprintf '%%%02X', ord $1/ger);
        return _answer($c, 302, '', "Location: $to\r\n");
    }

    if ($path eq '/token' || $path eq '/login/oauth/access_token') {
        sleep $mode->{slow} if $mode->{slow};
        my ($id, $secret);
        if ($path eq '/token') {
            my ($basic) = ($h{authorization} // '') =~ /^Basic (\S+)$/;
            ($id, $secret) = map { _form("x=$_")->{x} }
                             split /:/, decode_base64($basic // ''), 2;
        } else {
            ($id, $secret) = ($f->{client_id}, $f->{client_secret});
        }
        my $code;
        $self->_codes(sub {
            $code = { %{ $_[0]{ $f->{code} // '' } // {} } };
            $code = undef unless %$code;
            $_[0]{ $f->{code} }{used}++ if $code;
        });
        my $challenge = b64u(sha256($f->{code_verifier} // ''));
        my $why = !$code ? 'no such code'
                : $code->{used} ? 'code used'
                : ($id // '') ne $self->{client_id} ? 'client_id'
                : ($secret // '') ne $self->{secret} ? 'client_secret'
                : ($f->{grant_type} // '') ne 'authorization_code' ? 'grant'
                : ($f->{redirect_uri} // '') ne $code->{redirect_uri}
                    ? 'redirect_uri'
                : ($code->{code_challenge_method} // '') ne 'S256'
                    ? 'pkce method'
                : $challenge ne ($code->{code_challenge} // '') ? 'pkce'
                : undef;
        return _answer($c, 400, { error => 'invalid_grant',
                                  error_description => $why }) if $why;
        my %tokens = (access_token => 'at-' . $f->{code},
                      token_type => 'Bearer', expires_in => 3600);
        $tokens{id_token} = $self->id_token($mode, $code)
            if $path eq '/token';
        return _answer($c, 200, \%tokens);
    }

    if ($path =~ m{^/api/v3/user(/emails)?$}) {
        my $emails = $1;
        return _answer($c, 401, { message => 'Bad credentials' })
            unless ($h{authorization} // '') =~ /^Bearer at-/;
        return _answer($c, 200, $mode->{emails} // [
            { email => 'someone@elsewhere.example', primary => JSON::XS::false,
              verified => JSON::XS::true },
            { email => $mode->{email} // 'gh@example.com',
              primary => JSON::XS::true,
              verified => exists $mode->{email_verified}
                          ? $mode->{email_verified} : JSON::XS::true } ])
            if $emails;
        return _answer($c, 200, { id => $mode->{gh_id} // 4242,
                                  login => 'octo', name => $mode->{name} });
    }

    return _answer($c, 404, { message => 'Not Found' });
}

sub _codes {
    my ($self, $change) = @_;
    open my $fh, '+<', "$self->{dir}/codes" or die;
    flock $fh, LOCK_EX;
    local $/;
    my $codes = $JSON->decode(<$fh>);
    $change->($codes);
    seek $fh, 0, SEEK_SET;
    truncate $fh, 0;
    print $fh $JSON->encode($codes);
    close $fh;
}

1;
