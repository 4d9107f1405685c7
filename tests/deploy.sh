# tests/deploy.sh -- helpers for the tests that run real web servers:
# deliveries with curl, waiting for the drainer, and a throwaway Apache.
# Sourced after tests/lib.sh.

command -v curl >/dev/null || skip "curl not installed (apt-get install curl)"
command -v jq >/dev/null || skip "jq not installed (apt-get install jq)"

# The user that the server's processes (and so hookgate and its drainer)
# run as. As root, a dedicated unprivileged one; otherwise ourselves.
RUN_USER=$(id -un)
RUN_GROUP=$(id -gn)
TEST_USER=hookgate-test

# use_test_user -- as root, creates (once) and selects $TEST_USER.
use_test_user() {
	[ "$(id -u)" -eq 0 ] || return 0
	for i in 1 2 3 4 5; do
		id "$TEST_USER" >/dev/null 2>&1 && break
		# Tests run in parallel: another one may hold the passwd lock.
		useradd --system --user-group --no-create-home \
		    --home-dir /nonexistent --shell /usr/sbin/nologin \
		    "$TEST_USER" 2>/dev/null || sleep 0.3
	done
	id "$TEST_USER" >/dev/null 2>&1 || skip "cannot create user $TEST_USER"
	RUN_USER=$TEST_USER
	RUN_GROUP=$TEST_USER
	# The server's processes must reach the test folder.
	chmod 755 "$T"
}

# as_user CMD... -- runs CMD as $RUN_USER (files it makes belong to it).
as_user() {
	if [ "$(id -u)" -eq 0 ] && [ "$RUN_USER" != root ]; then
		setpriv --reuid="$RUN_USER" --regid="$RUN_GROUP" \
		    --clear-groups -- "$@"
	else
		"$@"
	fi
}

# post BODYFILE [curl args] -- a signed POST to $URL; the answer lands in
# STATUS/HEAD/BODY.
post() {
	f=$1; shift
	"$HOOKGATE" -c "$CONF" sign < "$f" > "$T/hdrs"
	# No "Expect: 100-continue": its interim answer would come first.
	curl -s -i --max-time 30 -X POST -H 'Content-Type: application/json' \
	    -H 'Expect:' -H @"$T/hdrs" --data-binary @"$f" "$@" "$URL" > "$T/out"
	parse_answer "$T/out"
}

# get URL -- a GET; the answer lands in STATUS/HEAD/BODY.
get() {
	curl -s -i --max-time 30 "$1" > "$T/out"
	parse_answer "$T/out"
}

# big_event ID BYTES -- a valid user.deleted event of about BYTES bytes.
big_event() {
	python3 -c 'import json, sys
print(json.dumps({"id": sys.argv[1], "type": "user.deleted",
    "created_at": "2026-11-27T12:00:00Z",
    "data": {"user_id": 1, "pad": "x" * int(sys.argv[2])}}), end="")' "$1" "$2"
}

# expect_server DESCRIPTION HTTP -- the last answer came from the web
# server itself, not from hookgate (no JSON body).
expect_server() {
	check "$1: HTTP status" "$2" "$STATUS"
	check "$1: answered by the server, not hookgate" "" "$(json status)"
}

# wait_done [SECONDS] -- lib.sh's wait_idle, asking the store as
# $RUN_USER (a command run as root would leave root's files in it).
wait_done() {
	i=0
	while [ $i -lt $(( ${1:-20} * 10 )) ]; do
		p=$(as_user "$HOOKGATE" -c "$CONF" status --json 2>/dev/null |
		    jq '.counts.queued + .counts.running + .counts.retrying')
		[ "$p" = 0 ] && return 0
		sleep 0.1; i=$((i + 1))
	done
	return 1
}

# record_hook DIR -- replaces write_config's DIR/hooks/record.sh by one
# that keeps each payload in a file of its own, DIR/hooks/ran/ID.XXXXXX:
# concurrent runs cannot mix, and a second run of an id shows.
record_hook() {
	cat > "$1/hooks/record.sh" <<'SH'
#!/bin/sh
d=$(dirname "$0")/ran
mkdir -p "$d"
cat > "$(mktemp "$d/$HOOKGATE_EVENT_ID.XXXXXX")"
SH
	chmod 755 "$1/hooks/record.sh"
}

# check_ran DESCRIPTION DIR ID... -- once the drainer is done, the scripts
# (record_hook DIR) saw exactly these ids, each once.
check_ran() {
	d=$1; r=$2/hooks/ran; shift 2
	wait_done || not_ok "$d: the drainer did not finish"
	want=$(printf '%s\n' "$@" | sort | tr '\n' ' ')
	got=$(ls "$r" 2>/dev/null | sed 's/\.[^.]*$//' | sort | tr '\n' ' ')
	check "$d: each script ran once" "$want" "$got"
}

# check_payload DESCRIPTION DIR ID FILE -- the script for ID read FILE,
# byte for byte, on its standard input.
check_payload() {
	if cmp -s "$4" "$2/hooks/ran/$3".*; then ok "$1"; else not_ok "$1"; fi
}

# stop_drainers -- ends the drainer this test's config started.
stop_drainers() {
	stop_drainer "$CONF"
}

# --- Apache ---------------------------------------------------------------

APACHE=/usr/sbin/apache2
MODS=/etc/apache2/mods-available

# apache_need MODULE... -- skips unless Apache and these modules exist.
apache_need() {
	[ -x "$APACHE" ] || skip "Apache not installed (apt-get install apache2)"
	for m in "$@"; do
		[ -f "$MODS/$m.load" ] ||
		    skip "Apache module $m not installed (apt-get install apache2 libapache2-mod-fcgid)"
	done
}

# apache_conf FILE USER GROUP MODULE... -- a bare server: the test folder,
# a free 127.0.0.1 port ($PORT), Debian's defaults for access (everything
# denied, .ht* hidden), the modules named. Each test adds its site.
apache_conf() {
	f=$1; u=$2; g=$3; shift 3
	A=$T/apache
	mkdir -p "$A/run"
	{
		echo "ServerRoot \"$A\""
		echo "DefaultRuntimeDir \"$A/run\""
		echo "PidFile \"$A/run/httpd.pid\""
		echo "Mutex file:$A/run default"
		echo "ErrorLog \"$A/error.log\""
		echo "LogLevel warn"
		echo "Listen 127.0.0.1:$PORT"
		echo "ServerName 127.0.0.1"
		echo "TypesConfig /etc/mime.types"
		for m in mpm_event authz_core mime alias "$@"; do
			grep '^LoadModule' "$MODS/$m.load"
		done
		if [ "$(id -u)" -eq 0 ]; then
			echo "User $u"
			echo "Group $g"
		fi
		cat <<CONF
StartServers 1
ServerLimit 2
ThreadsPerChild 10
MinSpareThreads 5
MaxSpareThreads 20
MaxRequestWorkers 20
<IfModule cgid_module>
    ScriptSock "$A/run/cgid.sock"
</IfModule>
<IfModule fcgid_module>
    FcgidIPCDir "$A/fcgid"
    FcgidProcessTableFile "$A/run/fcgid-shm"
</IfModule>
<Directory />
    Options FollowSymLinks
    AllowOverride None
    Require all denied
</Directory>
<FilesMatch "^\.ht">
    Require all denied
</FilesMatch>
CONF
	} > "$f"
}

# apache_start CONF -- checks and starts Apache in the foreground (in the
# background of this shell), waits until it answers; stopped at exit.
apache_start() {
	"$APACHE" -t -f "$1" > "$T/apache-t.out" 2>&1 || {
		cat "$T/apache-t.out"
		not_ok "Apache accepts the config"; finish; exit 1
	}
	"$APACHE" -f "$1" -DFOREGROUND &
	APID=$!
	cleanup_hooks="apache_stop $cleanup_hooks"
	for i in $(seq 1 100); do
		curl -s -o /dev/null "http://127.0.0.1:$PORT/" && return 0
		sleep 0.1
	done
	cat "$T/apache/error.log"
	not_ok "Apache started"; finish; exit 1
}

# apache_stop -- stops the Apache started last and waits for it (and so
# for the processes mod_fcgid started).
apache_stop() {
	[ -n "${APID:-}" ] || return 0
	kill -TERM "$APID" 2>/dev/null
	wait "$APID" 2>/dev/null
	APID=
}

# apache_finish -- finish, with Apache's error log when something failed.
apache_finish() {
	if [ "$FAIL" -ne 0 ] && [ -f "$T/apache/error.log" ]; then
		echo "--- Apache error log"
		tail -n 40 "$T/apache/error.log"
	fi
	finish
}
