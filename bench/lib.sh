# bench/lib.sh -- what bench/run's sections share: keeping track of the
# processes it starts, the lighttpd front for every target, the targets
# themselves, and one wrk measurement. Sourced by bench/run (bash), which
# sets BENCH (this folder), W (the work folder), HOOKGATE, SECRET, PROCS,
# SECONDS_PER_RUN and RESULTS.

# --- processes ----------------------------------------------------------

# Every process bench/run starts is listed here, so that the EXIT trap can
# end exactly those (never anything found by name).
PIDS=""
started() { PIDS="$PIDS $1"; }
# shellcheck disable=SC2086 # a list of pids, split on purpose
forget() { PIDS=$(printf '%s\n' $PIDS | grep -vx "$1" | tr '\n' ' '); }

# is_alive PID -- true while the process exists and is not a zombie.
is_alive() {
	[ -r "/proc/$1/stat" ] && ! sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | grep -q '^Z'
}

# children_of PID -- the pids whose parent is PID.
children_of() {
	for s in /proc/[0-9]*/stat; do
		sed -n 's/^\([0-9]*\) .*) [A-Za-z] \([0-9]*\) .*/\1 \2/p' "$s" 2>/dev/null
	done | awk -v p="$1" '$2 == p { print $1 }'
}

# stop_pid PID [SIGNAL] -- SIGNAL (TERM) to one process we started, then
# KILL if it is still there after 5 s; reaps it if it is our child.
stop_pid() {
	_p=$1
	kill "-${2:-TERM}" "$_p" 2>/dev/null || true
	_i=0
	while is_alive "$_p" && [ $_i -lt 50 ]; do sleep 0.1; _i=$((_i + 1)); done
	kill -KILL "$_p" 2>/dev/null || true
	wait "$_p" 2>/dev/null || true
	forget "$_p"
}

# hookgate_drainers -- pids of drainers started for configs in $W (they
# detach from us: found by their executable and their config's path).
hookgate_drainers() {
	_exe=$(readlink -f "$HOOKGATE")
	for d in /proc/[0-9]*; do
		[ "$(readlink "$d/exe" 2>/dev/null)" = "$_exe" ] || continue
		tr '\0' ' ' < "$d/cmdline" 2>/dev/null | grep -q -- "-c $W/.* drain" &&
		    echo "${d#/proc/}"
	done
	return 0
}

# --- small helpers ------------------------------------------------------

die() { echo "bench: $*" >&2; exit 1; }
note() { echo "bench: $*" >&2; }

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

now_ns() { date +%s%N; }

# status_counts CONF -- "queued running retrying done failed ignored" of
# the store (bash regex, no extra process: it is polled every 50 ms).
status_counts() {
	_s=$("$HOOKGATE" -c "$1" status --json 2>/dev/null) || { echo "- - - - - -"; return 0; }
	_out=""
	for k in queued running retrying 'done' failed ignored; do
		if [[ $_s =~ \"$k\":([0-9]+) ]]; then _out="$_out ${BASH_REMATCH[1]}"; else _out="$_out -"; fi
	done
	echo "${_out# }"
}

# stored_total CONF -- how many events the store holds, whatever their
# state. `status` walks every event (seconds for a million): not for
# polling a large store.
stored_total() {
	# shellcheck disable=SC2046 # six numbers, split on purpose
	set -- $(status_counts "$1")
	[ "$1" = - ] && { echo 0; return 0; }
	echo $(($1 + $2 + $3 + $4 + $5 + $6))
}

# --- the hookgate config ------------------------------------------------

# hg_config FILE STATE_DIR DURABILITY RUN [LOG] -- the bench config: one
# routed type (the one gen.py uses), a queue that never fills, a tolerance
# that covers the whole bench run (the request sets are signed once, at
# the start), and BENCH_HOOKGATE_EXTRA lines for [hookgate]. LOG: a log
# file (default: stderr, which lighttpd hands its FastCGI children).
hg_config() {
	{
		echo "[hookgate]"
		echo "state_dir = $2"
		echo "durability = $3"
		echo "max_queue = 10000000"
		[ -z "${5:-}" ] || echo "log = $5"
		[ -n "${BENCH_HOOKGATE_EXTRA:-}" ] && printf '%s\n' "$BENCH_HOOKGATE_EXTRA"
		echo
		echo "[signature]"
		echo "scheme = standard"
		echo "secret = $SECRET"
		echo "tolerance = 1d"
		echo
		echo "[event user.created]"
		echo "run = $4"
		echo "require = data.user_id data.email data.username"
	} > "$1"
	chmod 600 "$1"
}

# hold_drainer_lock STATE_DIR -- takes the drainer lock the way a drainer
# does (flock on STATE_DIR/drainer.lock) and keeps it in a sleeping
# process: responders then see a live drainer and start none, so the HTTP
# figures hold no command runs. Sets LOCKPID. (The sleep is bounded, an
# hour, in case bench/run is killed before its trap can stop it.)
hold_drainer_lock() {
	mkdir -p "$1"
	( exec 9>>"$1/drainer.lock"; flock -x 9; exec sleep 3600 ) &
	LOCKPID=$!
	started "$LOCKPID"
	_i=0
	while flock -n "$1/drainer.lock" true; do
		_i=$((_i + 1)); [ $_i -lt 100 ] || die "could not take $1/drainer.lock"
		sleep 0.05
	done
}

# --- lighttpd -----------------------------------------------------------

# lighttpd_base FILE PORT NAME -- what every target's server shares: a bare
# vhost on 127.0.0.1 with lighttpd's defaults (keep-alive, request
# buffering: bodies over 64 KiB go to a temp file in upload-dirs).
lighttpd_base() {
	mkdir -p "$W/www" "$W/up" "$W/log" "$W/sock"
	[ -f "$W/www/index.html" ] || echo ok > "$W/www/index.html"
	cat > "$1" <<CONF
server.document-root = "$W/www"
server.bind = "127.0.0.1"
server.port = $2
server.errorlog = "$W/log/$3.lighttpd.err"
server.upload-dirs = ( "$W/up" )
CONF
}

# snippet BIN CONFIG NAME -- the shipped snippet lighttpd/hookgate.conf
# with only its paths and max-procs changed, as tests/lighttpd.test does.
snippet() {
	sed -e "s|/usr/local/bin/hookgate|$1|" \
	    -e "s|/run/lighttpd/hookgate.sock|$W/sock/$3.sock|" \
	    -e "s|/etc/hookgate/hookgate.conf|$2|" \
	    -e "s|\"max-procs\"\( *\)=> 2,|\"max-procs\"\1=> $PROCS,|" \
	    "$BENCH/../lighttpd/hookgate.conf"
}

# start_lighttpd CONF NAME URL -- starts it and waits until URL answers.
# Sets LPID.
start_lighttpd() {
	lighttpd -tt -f "$1" > "$W/log/$2.tt" 2>&1 || { cat "$W/log/$2.tt" >&2; die "$2: lighttpd refuses its config"; }
	lighttpd -D -f "$1" > "$W/log/$2.lighttpd.out" 2>&1 &
	LPID=$!
	started "$LPID"
	_i=0
	while [ "$(curl -s -o /dev/null -w '%{http_code}' "$3" 2>/dev/null)" = 000 ]; do
		_i=$((_i + 1))
		if [ $_i -ge 100 ] || ! is_alive "$LPID"; then
			cat "$W/log/$2.lighttpd.err" >&2 2>/dev/null || true
			die "$2: lighttpd does not answer on $3"
		fi
		sleep 0.1
	done
}

# stop_lighttpd -- stops it and whatever it started (its FastCGI or CGI
# children), by pid.
stop_lighttpd() {
	[ -n "${LPID:-}" ] || return 0
	_kids=$(children_of "$LPID")
	stop_pid "$LPID"
	for k in $_kids; do is_alive "$k" && stop_pid "$k"; done
	LPID=""
}

# --- the targets --------------------------------------------------------

# start_target NAME [STATE] -- empty | write | fsync | php | webhook, each
# behind the same lighttpd; hookgate with a fresh store, or a copy of
# STATE. Sets URL (and for hookgate CONF, STATE), LPID, and TARGET_PIDS
# (what to stop after).
start_target() {
	PORT=$(free_port)
	LCONF=$W/$1.lighttpd.conf
	lighttpd_base "$LCONF" "$PORT" "$1"
	URL=http://127.0.0.1:$PORT/hooks/
	TARGET_PIDS=""
	case $1 in
	empty)
		snippet "$W/empty" /dev/null "$1" >> "$LCONF"
		;;
	write|fsync)
		CONF=$W/hg-$1/hookgate.conf
		STATE=$W/hg-$1/state
		rm -rf "$W/hg-$1"; mkdir -p "$W/hg-$1"
		hg_config "$CONF" "$STATE" "$1" "cat >/dev/null"
		if [ -n "${2:-}" ]; then
			# A copy of a prepared store, opened once before the load
			# (recovery, if the copy needs it, is not measured).
			cp -a "$2" "$STATE"
			"$HOOKGATE" -c "$CONF" status > /dev/null
		fi
		hold_drainer_lock "$STATE"
		TARGET_PIDS=$LOCKPID
		snippet "$HOOKGATE" "$CONF" "$1" >> "$LCONF"
		;;
	php)
		# lighttpd manages PROCS php-cgi processes itself (max-procs,
		# PHP_FCGI_CHILDREN=0), as it does hookgate's; no recycling
		# (PHP_FCGI_MAX_REQUESTS=0), since hookgate is not recycled
		# either. OPcache: Debian's php-cgi loads it, enabled by default
		# outside the CLI; bench.ini says so explicitly.
		mkdir -p "$W/www/hooks" "$W/php.d"
		cp "$BENCH/receiver.php" "$W/www/hooks/receiver.php"
		printf '<?php echo ini_get("opcache.enable") && function_exists("opcache_get_status") && (opcache_get_status(false)["opcache_enabled"] ?? false) ? "on" : "off";\n' > "$W/www/opcache.php"
		printf 'opcache.enable=1\nopcache.validate_timestamps=0\n' > "$W/php.d/bench.ini"
		: > "$W/php-ids"
		URL=http://127.0.0.1:$PORT/hooks/receiver.php
		cat >> "$LCONF" <<CONF
server.modules += ( "mod_fastcgi" )
server.max-request-size = 1024
fastcgi.server += ( ".php" => ((
	"bin-path"             => "/usr/bin/php-cgi",
	"socket"               => "$W/sock/php.sock",
	"max-procs"            => $PROCS,
	"bin-environment"      => (
		"PHP_FCGI_CHILDREN"     => "0",
		"PHP_FCGI_MAX_REQUESTS" => "0",
		"PHP_INI_SCAN_DIR"      => ":$W/php.d",
		"BENCH_SECRET"          => "$SECRET",
		"BENCH_IDS"             => "$W/php-ids",
	),
	"bin-copy-environment" => ( "PATH" ),
)))
CONF
		;;
	webhook)
		# adnanh/webhook is an HTTP server: lighttpd proxies to it, so
		# the front is the same as for the others.
		WPORT=$(free_port)
		cat > "$W/hooks.json" <<JSON
[
  {
    "id": "bench",
    "execute-command": "/bin/true",
    "command-working-directory": "$W",
    "http-methods": ["POST"],
    "success-http-response-code": 202,
    "response-message": "{\"status\":\"accepted\"}",
    "trigger-rule-mismatch-http-response-code": 401,
    "trigger-rule": {
      "match": {
        "type": "payload-hmac-sha256",
        "secret": "$SECRET",
        "parameter": { "source": "header", "name": "X-Hub-Signature-256" }
      }
    }
  }
]
JSON
		webhook -hooks "$W/hooks.json" -ip 127.0.0.1 -port "$WPORT" \
		    > "$W/log/webhook.out" 2>&1 &
		TARGET_PIDS=$!
		started "$TARGET_PIDS"
		_i=0
		while [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$WPORT/" 2>/dev/null)" = 000 ]; do
			_i=$((_i + 1)); [ $_i -lt 100 ] || { cat "$W/log/webhook.out" >&2; die "webhook does not start"; }
			sleep 0.1
		done
		URL=http://127.0.0.1:$PORT/hooks/bench
		cat >> "$LCONF" <<CONF
server.modules += ( "mod_proxy" )
server.max-request-size = 1024
proxy.server = ( "/hooks/" => (( "host" => "127.0.0.1", "port" => $WPORT )) )
CONF
		;;
	*) die "unknown target $1" ;;
	esac
	start_lighttpd "$LCONF" "$1" "$URL"
	if [ "$1" = php ] && [ -z "${PHP_OPCACHE:-}" ]; then
		PHP_OPCACHE=$(curl -s "http://127.0.0.1:$PORT/opcache.php")
		[ "$PHP_OPCACHE" = on ] || note "php: OPcache is not enabled ($PHP_OPCACHE)"
	fi
}

stop_target() {
	stop_lighttpd
	for p in $TARGET_PIDS; do stop_pid "$p"; done
	TARGET_PIDS=""
	for d in $(hookgate_drainers); do stop_pid "$d"; done
}

# --- one measurement ----------------------------------------------------

# run_wrk OUT THREADS CONNS SECONDS URL SET [once [LIMIT]] -- one wrk run
# with cycle.lua; its "BENCH ..." line goes to OUT, all of its output to
# OUT.log.
run_wrk() {
	_out=$1 _t=$2 _c=$3 _d=$4 _u=$5; shift 5
	wrk -t"$_t" -c"$_c" -d"${_d}s" --latency --timeout 5s \
	    -s "$BENCH/cycle.lua" "$_u" -- "$@" > "$_out.log" 2>&1 || true
	grep '^BENCH ' "$_out.log" | sed 's/^BENCH //' > "$_out"
	[ -s "$_out" ] || { cat "$_out.log" >&2; die "wrk failed against $_u"; }
}

# record KEY=VALUE... -- one line of results.
record() { echo "$*" >> "$RESULTS"; }
