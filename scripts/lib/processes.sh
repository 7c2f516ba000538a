# processes.sh: what the local-*.sh scripts share to run tiercache processes
# on loopback: the operator's ctl, stopping from a pid file, refusing to
# start over a running set, a fresh work dir, the binary, starting the
# processes, waiting for their nodes, staying in the foreground. Sourced,
# not run.
# The caller sets: repo, work, bin, pki, pidfile, members, and what (a noun
# for messages: "cluster", "federation").

# ctl runs `tiercache ctl` as the operator (admin role), against every
# member so it fails over when one is down.
ctl() {
	"$bin" ctl --meta "$members" --ca "$pki/ca.pem" --cert "$pki/ops.pem" --key "$pki/ops-key.pem" "$@"
}

# stop_all sends SIGTERM to every process in the pid file (the commands
# shut down cleanly on it: a node leaves, a member closes Raft), waits up
# to 10s, then SIGKILLs what is left. Only the pids we recorded are touched.
stop_all() {
	[[ -f $pidfile ]] || return 0
	local pids
	pids=$(cat "$pidfile")
	# Nodes first (recorded last), so they deregister while the control
	# plane is still there to hear it.
	for p in $(echo "$pids" | tac); do kill -TERM "$p" 2>/dev/null || true; done
	for _ in $(seq 100); do
		local alive=0
		for p in $pids; do kill -0 "$p" 2>/dev/null && alive=1; done
		((alive)) || break
		sleep 0.1
	done
	for p in $pids; do kill -KILL "$p" 2>/dev/null || true; done
	rm -f "$pidfile"
	echo "stopped; state and logs are in $work"
}

# handle_args carries out `stop` (and exits) or refuses anything else.
handle_args() {
	if [[ ${1:-} == stop ]]; then
		stop_all
		exit 0
	elif [[ -n ${1:-} ]]; then
		echo "usage: $0 [stop]" >&2
		exit 2
	fi
}

# refuse_if_running exits if a process of the pid file is still alive.
refuse_if_running() {
	[[ -f $pidfile ]] || return 0
	for p in $(cat "$pidfile"); do
		if kill -0 "$p" 2>/dev/null; then
			echo "a $what from $work is still running (pid $p); run '$0 stop' first" >&2
			exit 1
		fi
	done
	rm -f "$pidfile"
}

# fresh_work makes the work dir and, unless TC_KEEP=1, removes the state
# of the last run (the paths given, relative to it) and its logs: a Raft
# data dir from another port layout would resume a group whose members sit
# at other addresses.
fresh_work() {
	mkdir -p "$work"
	if [[ ${TC_KEEP:-} != 1 ]]; then
		local d
		for d in "$@" logs; do rm -rf "${work:?}/$d"; done
	fi
	mkdir -p "$work/logs"
}

# get_binary copies TC_BIN or builds the binary into $bin.
get_binary() {
	if [[ -n ${TC_BIN:-} ]]; then
		cp "$TC_BIN" "$bin"
	else
		echo "building $bin"
		(cd "$repo" && go build -o "$bin" ./cmd/tiercache)
	fi
}

# begin_processes starts an empty pid file and stops what it lists on
# Ctrl-C or SIGTERM.
begin_processes() {
	trap 'echo; stop_all; exit 0' INT TERM
	: >"$pidfile"
}

# start NAME ARGS...: one process in the background, logs to logs/NAME.log.
start() {
	local name=$1
	shift
	"$bin" "$@" >"$work/logs/$name.log" 2>&1 &
	echo $! >>"$pidfile"
}

# wait_up COUNT TIMEOUT [REGION] waits until the topology lists COUNT nodes
# up (in REGION, when given), bounded: a process that failed to start
# shows in its log, not as a hang. On an exit or the timeout it stops the
# rest and exits 1.
wait_up() {
	local count=$1 timeout=$2 region=${3:-}
	local deadline=$((SECONDS + timeout)) p
	until [[ $(ctl --timeout 2s nodes 2>/dev/null | awk -v r="$region" '(r == "" || $2 == r) && $4 == "up"' | wc -l) -eq $count ]]; do
		for p in $(cat "$pidfile"); do
			if ! kill -0 "$p" 2>/dev/null; then
				echo "process $p exited; see $work/logs/*.log" >&2
				tail -n 5 "$work"/logs/*.log >&2
				stop_all
				exit 1
			fi
		done
		if ((SECONDS > deadline)); then
			echo "nodes not up within ${timeout}s; see $work/logs/*.log" >&2
			stop_all
			exit 1
		fi
		sleep 0.3
	done
}

# stay_foreground returns once the pid file is gone. Staying in the
# foreground lets Ctrl-C reach the trap (bash runs it as soon as the wait
# is interrupted); '$0 stop' from elsewhere removes the pid file, which
# ends the loop. A process that dies is not fatal: killing a node is a
# thing to try.
stay_foreground() {
	while [[ -f $pidfile ]]; do
		sleep 1 &
		wait $! || true
	done
}
