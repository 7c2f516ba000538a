#!/usr/bin/env bash
# local-cluster.sh: one tiercache region on loopback, as separate processes,
# with TLS on the control plane: 3 raftmeta members and 3 L2 nodes.
#
#   scripts/local-cluster.sh          build, start, wait until the 3 nodes are
#                                     up, print how to reach them; Ctrl-C stops
#   scripts/local-cluster.sh stop     stop a cluster started in the background
#                                     (or in another terminal) from its pid file
#
# Environment (defaults in brackets):
#   TC_WORK        work dir holding the binary, PKI, Raft data, logs, pids
#                  [${TMPDIR:-/tmp}/tiercache-local]
#   TC_META_RAFT   first Raft port; members use it, +1, +2       [9001]
#   TC_META_HTTP   first API port; members use it, +1, +2        [9101]
#   TC_NODE_PORT   first RESP port; nodes use it, +1, +2         [7001]
#   TC_REGION      region name the nodes register in             [us-east]
#   TC_LEASE       node lease timeout (meta --lease)             [3s]
#   TC_MAXMEMORY   store budget per node (node --maxmemory)      [256mb]
#   TC_BIN         use this tiercache binary instead of building one
#   TC_KEEP=1      keep the work dir's Raft data and PKI from the last run
#                  (default: start from empty state every time)
#
# Only 127.0.0.1 is used. The RESP port of a node is plain TCP: TLS here
# covers the control plane (Raft between members, the members' API for
# nodes and ctl), which is what the certificates' roles authorise.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=${TC_WORK:-${TMPDIR:-/tmp}/tiercache-local}
raft0=${TC_META_RAFT:-9001}
http0=${TC_META_HTTP:-9101}
node0=${TC_NODE_PORT:-7001}
region=${TC_REGION:-us-east}
lease=${TC_LEASE:-3s}
maxmem=${TC_MAXMEMORY:-256mb}
bin=$work/tiercache
pki=$work/pki
pidfile=$work/pids

members=$(printf '127.0.0.1:%d,127.0.0.1:%d,127.0.0.1:%d' "$http0" $((http0 + 1)) $((http0 + 2)))

what=cluster
# shellcheck source=lib/processes.sh
source "$repo/scripts/lib/processes.sh"
handle_args "$@"
refuse_if_running
fresh_work pki m1 m2 m3
get_binary

# Members get server certificates (the only role Raft accepts), nodes get
# node certificates (register and renew leases), ops gets admin (ctl writes),
# app gets client (an application reading the topology).
if [[ ! -f $pki/ca.pem ]]; then
	"$bin" ctl certs --out "$pki" m1=server m2=server m3=server n1=node n2=node n3=node ops=admin app=client >/dev/null
fi

begin_processes
for i in 1 2 3; do
	args=(meta --id "m$i" --raft "127.0.0.1:$((raft0 + i - 1))" --http "127.0.0.1:$((http0 + i - 1))"
		--data "$work/m$i" --lease "$lease"
		--ca "$pki/ca.pem" --cert "$pki/m$i.pem" --key "$pki/m$i-key.pem")
	if ((i == 1)); then
		args+=(--bootstrap)
	else
		# Joining goes through the first member's API; it retries until
		# that member has a leader, so no wait is needed here.
		args+=(--join "127.0.0.1:$http0")
	fi
	start "m$i" "${args[@]}"
done

for i in 1 2 3; do
	start "n$i" node --id "n$i" --listen "127.0.0.1:$((node0 + i - 1))" --maxmemory "$maxmem" \
		--meta "$members" --region "$region" \
		--ca "$pki/ca.pem" --cert "$pki/n$i.pem" --key "$pki/n$i-key.pem"
done

echo "waiting for the 3 nodes to be up in region $region"
wait_up 3 60 "$region"

ctl topology
cat <<EOF

tiercache region "$region" is up (work dir $work).

  redis-cli -p $node0 set user:42 alice
  redis-cli -p $((node0 + 1)) get user:42       # any node answers
  redis-cli -p $((node0 + 2)) info keyspace

  # the control plane, as the operator (admin certificate):
  $bin ctl --meta $members \\
      --ca $pki/ca.pem --cert $pki/ops.pem --key $pki/ops-key.pem topology
  # an application uses $pki/app.pem (role client): it may read the topology, not change it.

logs: $work/logs/   stop: Ctrl-C here, or $0 stop
EOF

stay_foreground
