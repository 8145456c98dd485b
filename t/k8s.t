#!/usr/bin/perl

# The GitOps deployment (docker/k8s): each overlay rendered by kubectl
# kustomize, every object validated against its kind's schema
# (docker/k8s/check/validate.mjs: Kubernetes' kinds, CloudNativePG's
# Cluster, Argo CD's Application), and what the deployment promises
# checked on what was rendered: one namespace an overlay, only nginx
# reaches PostgreSQL and Redis, what kanbanctl move-workspace needs from
# PostgreSQL, an Argo CD Application an overlay pointing at it.
#
# kubectl is the first on PATH (make deps installs Debian's
# kubernetes-client when there is none); KANBAN_KUBECTL names another.
# No cluster is needed: nothing is applied.

use strict;
use warnings;

use Test::More;
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use IPC::Run qw(run);
use JSON::XS;

my $root = abs_path(dirname(__FILE__) . '/..');
my $k8s = "$root/docker/k8s";
my $check = "$k8s/check";
my $kubectl = $ENV{KANBAN_KUBECTL} // 'kubectl';

ok(-e "$check/node_modules/\@kubernetes-models/argo-cd/package.json",
   'the schemas are installed (npm ci --prefix docker/k8s/check)')
    or BAIL_OUT('no schemas');

sub cmd {
    my ($argv, $in) = @_;
    my ($out, $err) = ('', '');
    my $ok = run($argv, \($in // ''), \$out, \$err);
    return ($ok, $out, $err);
}

sub validate {
    my ($yaml) = @_;
    my ($ok, $out) = cmd(['node', "$check/validate.mjs", '-'], $yaml);
    return ($ok, $out);
}

sub objects {
    my ($yaml) = @_;
    my ($ok, $out, $err) = cmd(['node', "$check/to-json.mjs"], $yaml);
    die "to-json: $err" unless $ok;
    return @{ decode_json($out) };
}

my ($ok, $version) = cmd([$kubectl, 'version', '--client']);
ok($ok, "kubectl runs ($kubectl)") or BAIL_OUT('no kubectl');
note($version);

my %apps = map { my ($app) = objects(do { local (@ARGV, $/) = $_; <> });
                 ($app->{metadata}{name} => $app) }
           glob("$k8s/argocd/*.yaml");

my ($apps_ok, $apps_out) = validate(join "---\n",
    map { do { local (@ARGV, $/) = $_; <> } } glob("$k8s/argocd/*.yaml"));
ok($apps_ok, 'the Argo CD Applications are valid') or diag($apps_out);

for my $env (qw(test prod)) {
    my $ns = "kanban-$env";
    my ($rendered, $yaml, $err) = cmd([$kubectl, 'kustomize',
                                       "$k8s/overlays/$env"]);
    ok($rendered, "$env: kubectl kustomize renders it") or diag($err);

    my ($valid, $report) = validate($yaml);
    ok($valid, "$env: every object valid against its kind's schema")
        or diag($report);
    my ($n) = $report =~ /^(\d+) valid, 0 invalid$/m;
    cmp_ok($n // 0, '>=', 14, "$env: ... all $n of them");

    my @objs = objects($yaml);
    my %of;
    push @{ $of{$_->{kind}} }, $_ for @objs;

    is_deeply([map { $_->{metadata}{name} } @{ $of{Namespace} || [] }], [$ns],
              "$env: one Namespace, $ns");
    is_deeply([grep { $_->{kind} ne 'Namespace'
                          && ($_->{metadata}{namespace} // '') ne $ns }
                   @objs], [], "$env: every other object in $ns");
    is_deeply([grep { $_->{kind} eq 'Secret' } @objs], [],
              "$env: no Secret in git (the keys are made in the cluster)");

    # the images: a tag of this environment, never :latest
    my @images = map { $_->{image} }
                 map { @{ $_->{spec}{template}{spec}{containers} } }
                 @{ $of{Deployment} }, @{ $of{Job} };
    is_deeply([grep { /kanban-nginx/ && !m{^registry\.example/kanban-nginx:}
                      || /:latest$/ } @images], [],
              "$env: the nginx image is the environment's tag");

    # NetworkPolicies: deny every ingress, then the allows
    my %np = map { $_->{metadata}{name} => $_->{spec} }
             @{ $of{NetworkPolicy} };
    my $deny = $np{'default-deny-ingress'};
    ok($deny && !%{ $deny->{podSelector} } && !$deny->{ingress}
       && (grep { $_ eq 'Ingress' } @{ $deny->{policyTypes} }),
       "$env: every pod's ingress denied unless allowed");

    my $pods = sub {        # the app labels a policy's rules let in
        my ($spec) = @_;
        my %apps;
        for my $from (map { @{ $_->{from} || [{}] } } @{ $spec->{ingress} }) {
            if (my $app = $from->{podSelector}{matchLabels}{app}) {
                $apps{$app} = 1;
            } elsif (!$from->{podSelector} && !$from->{namespaceSelector}) {
                $apps{'ANY'} = 1;    # an empty from: everyone
            }
            # PostgreSQL's own pods and the operator's namespace: below
        }
        return [sort keys %apps];
    };

    my ($pg) = grep { ($_->{podSelector}{matchExpressions}[0]{key} // '')
                      eq 'cnpg.io/cluster' } values %np;
    ok($pg, "$env: a policy for PostgreSQL's pods");
    is_deeply($pg && $pods->($pg), ['kanban-migrate', 'kanban-nginx'],
              "$env: ... only nginx (and its migrate Job) of the "
              . "application's pods reach it");
    my @ns_from = map { $_->{namespaceSelector}{matchLabels}
                            {'kubernetes.io/metadata.name'} }
                  grep { $_->{namespaceSelector} }
                  map { @{ $_->{from} } } @{ $pg->{ingress} };
    is_deeply(\@ns_from, ['cnpg-system'],
              "$env: ... and from other namespaces, only the operator's");

    my ($redis) = grep { ($_->{podSelector}{matchLabels}{app} // '')
                         eq 'kanban-redis' } values %np;
    is_deeply($redis && $pods->($redis), ['kanban-nginx'],
              "$env: only nginx reaches Redis");
    is_deeply([sort map { "$_->{protocol}/$_->{port}" }
               map { @{ $_->{ports} } } @{ $redis->{egress} || [] }],
              ['TCP/53', 'UDP/53'], "$env: Redis sends nothing but DNS");

    my ($front) = grep { ($_->{podSelector}{matchLabels}{app} // '')
                         eq 'kanban-nginx' } values %np;
    is_deeply([map { $_->{port} } map { @{ $_->{ports} } }
               @{ $front->{ingress} }], [8080],
              "$env: nginx is reached on its HTTP port only");

    # what kanbanctl move-workspace needs from each server
    for my $c (@{ $of{Cluster} }) {
        my $p = $c->{spec}{postgresql}{parameters};
        is($p->{wal_level}, 'logical',
           "$env: $c->{metadata}{name}: wal_level logical");
        cmp_ok($p->{$_} // 0, '>=', 10,
               "$env: $c->{metadata}{name}: $_ $p->{$_}")
            for qw(max_replication_slots max_wal_senders);
    }

    # and Argo CD follows this overlay into this namespace
    my $app = $apps{$ns};
    is($app && $app->{spec}{source}{path}, "docker/k8s/overlays/$env",
       "$env: the Argo CD Application $ns renders this overlay");
    is($app && $app->{spec}{destination}{namespace}, $ns,
       "$env: ... into $ns");
}

is($apps{'kanban-test'}{spec}{syncPolicy}{automated}{selfHeal}, JSON::XS::true,
   'test: synced from git by itself');
ok(!$apps{'kanban-prod'}{spec}{syncPolicy}{automated},
   'prod: synced by an operator');

# the check catches what it should
my ($bad_ok, $bad_out) = validate(<<'YAML');
apiVersion: apps/v1
kind: Deployment
metadata: { name: x }
spec:
  replicas: two
  selector: { matchLabels: { app: x } }
  template:
    metadata: { labels: { app: x } }
    spec: { containers: [ { name: x, image: x } ] }
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: { name: x }
spec:
  source: { repoURL: 1 }
---
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata: { name: x }
spec: { instances: "3", storage: { size: 1Gi } }
YAML
ok(!$bad_ok, 'a wrong document fails the check');
like($bad_out, qr/Deployment x: INVALID/, '... a Deployment of a wrong type');
like($bad_out, qr/Application x: INVALID/, '... an Application without a destination');
like($bad_out, qr/Cluster x: INVALID/, '... a Cluster of a wrong type');

done_testing;
