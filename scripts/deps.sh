# scripts/deps.sh -- installs the Debian packages hookgate needs, if missing.
# Sourced by scripts/demo and scripts/test.

HOOKGATE_PACKAGES="build-essential autoconf automake pkg-config
libfcgi-dev libfcgi-bin libjson-c-dev libssl-dev libdb5.3-dev db5.3-util
libinih-dev check lighttpd apache2 libapache2-mod-fcgid curl jq python3 clang"

install_deps() {
	missing=
	for p in $HOOKGATE_PACKAGES; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		    grep -q 'install ok installed' || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	echo "Installing:$missing"
	if [ "$(id -u)" -eq 0 ]; then
		SUDO=
	elif command -v sudo >/dev/null; then
		SUDO=sudo
	else
		echo "Please install as root: apt-get install -y$missing" >&2
		exit 1
	fi
	$SUDO apt-get update -q &&
	    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q $missing ||
	    exit 1
}

# build DIR [configure args] -- configures and builds in DIR (made fresh
# when the configure arguments change).
build() {
	dir=$1; shift
	top=$(cd "$(dirname "$0")/.." && pwd)
	[ -x "$top/configure" ] || (cd "$top" && autoreconf -fi) || exit 1
	mkdir -p "$top/$dir"
	cd "$top/$dir" || exit 1
	if [ ! -f Makefile ] || [ "$(cat .configure-args 2>/dev/null)" != "$*" ]; then
		"$top/configure" -q "$@" || exit 1
		echo "$*" > .configure-args
	fi
	make -j"$(nproc)" >/dev/null || make || exit 1
}
