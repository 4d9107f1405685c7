# tests/lib.sh -- shared shell helpers for the black-box tests.
# Sourced by tests/*.test; automake runs each test with HOOKGATE and SRCDIR.
set -u

: "${HOOKGATE:?HOOKGATE must point at the built binary}"
: "${SRCDIR:?SRCDIR must point at the source tree}"

SECRET='whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'
PASS=0
FAIL=0

T=$(mktemp -d /tmp/hookgate-it-XXXXXX)
cleanup_hooks=""
cleanup() {
	for c in $cleanup_hooks; do $c || true; done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

skip() { echo "SKIP: $*"; exit 77; }

ok() { PASS=$((PASS + 1)); echo "ok - $*"; }
not_ok() { FAIL=$((FAIL + 1)); echo "not ok - $*"; }

# check DESCRIPTION EXPECTED ACTUAL
check() {
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1: expected '$2', got '$3'"; fi
}

# check_match DESCRIPTION REGEX ACTUAL
check_match() {
	if printf '%s' "$3" | grep -Eq -- "$2"; then ok "$1"; else not_ok "$1: '$3' does not match /$2/"; fi
}

finish() {
	echo "$PASS passed, $FAIL failed"
	[ "$FAIL" -eq 0 ]
}

# write_config FILE [extra lines for [hookgate]] -- a config like the example,
# with its state and hooks in the file's folder.
write_config() {
	conf=$1; shift
	dir=$(dirname "$conf")
	mkdir -p "$dir/hooks"
	{
		echo "[hookgate]"
		echo "state_dir = state"
		for l in "$@"; do echo "$l"; done
		echo
		echo "[signature]"
		echo "scheme = standard"
		echo "secret = $SECRET"
		echo
		cat <<'INI'
[event user.created]
run = ./hooks/record.sh
require = data.user_id data.email data.username

[event user.updated]
run = ./hooks/record.sh
require = data.user_id data.changes:object

[event user.deleted]
run = ./hooks/record.sh
require = data.user_id

[event project.created]
run = ./hooks/record.sh
require = data.project_id data.name data.owner_id

[event project.updated]
run = ./hooks/record.sh
require = data.project_id data.changes:object
INI
	} > "$conf"
	printf '#!/bin/sh\ncat >> "$(dirname "$0")/ran"\necho "$HOOKGATE_EVENT_ID" >> "$(dirname "$0")/ran.ids"\n' > "$dir/hooks/record.sh"
	chmod 755 "$dir/hooks/record.sh"
	chmod 600 "$conf"
}

# event ID TYPE [DATA] -- one event body on stdout.
event() {
	data=${3:-'{"user_id": 1, "email": "a@example.com", "username": "ann"}'}
	printf '{"id": "%s", "type": "%s", "created_at": "2026-11-27T12:00:00Z", "data": %s}' \
	    "$1" "$2" "$data"
}

# sign_env BODYFILE [sign args] -- the signature headers as CGI variables.
sign_env() {
	f=$1; shift
	"$HOOKGATE" -c "$CONF" sign "$@" < "$f" |
	    awk -F': ' '{ n = toupper($1); gsub(/[^A-Z0-9]/, "_", n);
		print "HTTP_" n "=" $2 }'
}

# cgi METHOD BODYFILE [VAR=value ...] -- runs hookgate as CGI with a clean
# environment; the answer's status, head and body land in $STATUS, $HEAD
# and $BODY.
cgi() {
	method=$1; f=$2; shift 2
	len=$(wc -c < "$f" | tr -d ' ')
	env -i PATH=/usr/bin:/bin GATEWAY_INTERFACE=CGI/1.1 \
	    REQUEST_METHOD="$method" REQUEST_URI=/hooks/ SCRIPT_NAME=/hooks \
	    CONTENT_TYPE=application/json CONTENT_LENGTH="$len" \
	    HOOKGATE_CONFIG="$CONF" "$@" \
	    "$HOOKGATE" < "$f" > "$T/out" 2>> "$T/stderr"
	parse_answer "$T/out"
}

# parse_answer FILE -- splits a CGI or HTTP answer into STATUS/HEAD/BODY.
parse_answer() {
	HEAD=$(tr -d '\r' < "$1" | sed '/^$/q')
	BODY=$(tr -d '\r' < "$1" | sed '1,/^$/d')
	STATUS=$(printf '%s\n' "$HEAD" | sed -n 's/^Status: \([0-9]*\).*/\1/p;s/^HTTP\/[0-9.]* \([0-9]*\).*/\1/p' | head -1)
}

# json KEY -- a top-level string field of $BODY ("" when absent).
json() {
	printf '%s' "$BODY" | jq -r ".$1 // empty" 2>/dev/null
}

# signed_cgi BODYFILE [VAR=value ...] -- a POST with valid signature headers
# (values may hold spaces: one argument per line of sign_env).
signed_cgi() {
	f=$1; shift
	sign_env "$f" > "$T/sig.env"
	while IFS= read -r line; do set -- "$@" "$line"; done < "$T/sig.env"
	cgi POST "$f" "$@"
}

# expect DESCRIPTION HTTP STATUS [ERROR-REGEX] -- checks the last answer.
expect() {
	check "$1: HTTP status" "$2" "$STATUS"
	check "$1: body status" "$3" "$(json status)"
	check_match "$1: Content-Type" '^Content-Type: application/json' \
	    "$(printf '%s\n' "$HEAD" | grep -i '^Content-Type')"
	if [ $# -ge 4 ]; then
		check_match "$1: error" "$4" "$(json error)"
	fi
}

# free_port -- a free TCP port on 127.0.0.1.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# is_alive PID -- true while the process exists and is not a zombie.
is_alive() {
	[ -r "/proc/$1/stat" ] && ! sed 's/^[0-9]* (.*) //' "/proc/$1/stat" | grep -q '^Z'
}

# wait_idle CONF [SECONDS] -- until nothing is queued, running or retrying.
wait_idle() {
	_i=0
	while [ $_i -lt $(( ${2:-20} * 10 )) ]; do
		_p=$("$HOOKGATE" -c "$1" status --json 2>/dev/null |
		    jq '.counts.queued + .counts.running + .counts.retrying')
		[ "$_p" = 0 ] && return 0
		sleep 0.1; _i=$((_i + 1))
	done
	return 1
}

# stop_drainer CONF -- SIGTERM the drainer of CONF and wait for it to go.
stop_drainer() {
	pkill -f -- "-c $1 drain" 2>/dev/null || return 0
	_i=0
	while pgrep -f -- "-c $1 drain" >/dev/null && [ $_i -lt 100 ]; do
		sleep 0.1; _i=$((_i + 1))
	done
}
