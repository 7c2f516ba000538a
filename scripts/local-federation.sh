#!/usr/bin/env bash
# local-federation.sh: the three regions of regions/local-3 on loopback, as
# separate processes, from the built-in deployment file "local-3"
# (regions/local-3-deploy.yaml): 3 raftmeta members, and per region 3 L2
# nodes and 1 gateway (`tiercache global`: the region's L3 node and its
# QUIC federation endpoint). TLS everywhere: role certificates on the
# control plane, mutual TLS with region certificates on every federation
# link; the L2 nodes require a password, which the gateways use to deliver
# other regions' writes. Each gateway delays what it sends by the
# profile's one-way delay, so the regions are 70-200 ms apart.
#
#   scripts/local-federation.sh        build, start, wait until all 12 nodes
#                                      are up, print addresses; Ctrl-C stops
#   scripts/local-federation.sh stop   stop a federation started elsewhere
#                                      (or in the background) from its pid file
#
# Environment (defaults in brackets):
#   TC_WORK      work dir holding the binary, PKI, Raft data, logs, pids
#                [${TMPDIR:-/tmp}/tiercache-federation]
#   TIERCACHE_REQUIREPASS  the cluster password [a random one, printed]
#   TC_BIN       use this tiercache binary instead of building one
#   TC_KEEP=1    keep the Raft data and PKI from the last run
#
# Ports are the deployment file's: Raft 19001-3, API 19101-3, L2 RESP
# 17101-3 (us-east), 17201-3 (eu-west), 17301-3 (ap-south), gateways UDP
# 17401-3; metrics on each +10 (members +100).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=${TC_WORK:-${TMPDIR:-/tmp}/tiercache-federation}
bin=$work/tiercache
pki=$work/pki
pidfile=$work/pids
deploy=local-3
regions=(us-east eu-west ap-south)
members="127.0.0.1:19101,127.0.0.1:19102,127.0.0.1:19103"

what=federation
# shellcheck source=lib/processes.sh
source "$repo/scripts/lib/processes.sh"
handle_args "$@"
refuse_if_running
fresh_work pki meta-1 meta-2 meta-3
get_binary

if [[ -z ${TIERCACHE_REQUIREPASS:-} ]]; then
	TIERCACHE_REQUIREPASS=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
fi
export TIERCACHE_REQUIREPASS

# The deployment's tls_dir is "pki", relative to the working directory:
# members and gateways get server certificates, L2 nodes node
# certificates, each region a server certificate named after it (the
# federation certificate its gateway and nodes share).
cd "$work"
if [[ ! -f $pki/ca.pem ]]; then
	certs=(meta-1=server meta-2=server meta-3=server ops=admin app=client)
	for r in "${regions[@]}"; do
		certs+=("$r=server" "$r-l3-0=server" "$r-l2-0=node" "$r-l2-1=node" "$r-l2-2=node")
	done
	"$bin" ctl certs --out "$pki" "${certs[@]}" >/dev/null
fi

begin_processes
for i in 1 2 3; do
	start "meta-$i" meta --deploy "$deploy" --id "meta-$i" --data "$work/meta-$i"
done
for r in "${regions[@]}"; do
	start "$r-l3-0" global --deploy "$deploy" --id "$r-l3-0"
	for j in 0 1 2; do
		start "$r-l2-$j" node --deploy "$deploy" --id "$r-l2-$j" --maxmemory 128mb
	done
done

echo "waiting for 9 L2 nodes and 3 gateways to be up"
wait_up 12 90

ctl nodes
cat <<EOF

the local-3 federation is up (work dir $work, password in TIERCACHE_REQUIREPASS=$TIERCACHE_REQUIREPASS).

  export REDISCLI_AUTH=$TIERCACHE_REQUIREPASS
  redis-cli -p 17101 set user:42 alice          # a write in us-east ...
  redis-cli -p 17201 get user:42                # ... read in eu-west (after ~35 ms one way)
  redis-cli -p 17301 get user:42                # ... and in ap-south

  gateways (QUIC, UDP): us-east 127.0.0.1:17401, eu-west 127.0.0.1:17402, ap-south 127.0.0.1:17403
  metrics: http://127.0.0.1:17411/metrics (us-east gateway), http://127.0.0.1:17111/metrics (us-east-l2-0), ...

  $bin ctl --meta $members \\
      --ca $pki/ca.pem --cert $pki/ops.pem --key $pki/ops-key.pem nodes

logs: $work/logs/   stop: Ctrl-C here, or $0 stop
EOF

stay_foreground
