# SPDX-License-Identifier: Apache-2.0
# Shared set-up for the end-to-end tests (sourced, not run).
#
# Each test re-executes itself inside private mount and PID namespaces
# (`unshare -m -p -f --kill-child`), so that:
#   - /etc/pam.d, /etc/nsswitch.conf and /etc/sudoers are test copies
#     (bind mounts), /var/lib, /var/log, /run and /home are empty tmpfs
#     mounts: the machine's own files, utmp/wtmp/btmp/lastlog and nscd are
#     never touched or consulted;
#   - libnss_userpool.so.2 appears in the system library directory through a
#     read-only overlay, so every process (sshd, the user's session, setuid
#     sudo, mkhomedir_helper which runs with an empty environment) resolves
#     pool users exactly as an installed system would;
#   - every process started here (test pool, sshd, clients) dies with the
#     namespace's init when the test ends, whatever happens.
# The user pool is tests/pool/pool.py over TLS with its own CA.

e2e_b=${top_builddir:-$(cd "$(dirname "$0")/../.." && pwd)}
# UP_E2E_INSTALLED=1: test the installed packages instead of the build tree:
# the PAM module from the system's module directory, the NSS module the
# package put in the library directory, /usr/sbin/userpool, the default
# /etc/userpool/userpool.conf (a namespace copy) and, for sshd, the stack
# pam-auth-update built in common-auth/-account/-session.
if [ -n "${UP_E2E_INSTALLED:-}" ]; then
	e2e_pammod=pam_userpool.so
	e2e_pamargs=
	e2e_userpool=/usr/sbin/userpool
else
	e2e_pammod=$e2e_b/pam/.libs/pam_userpool.so
	e2e_pamargs=config=PENDING
	e2e_userpool=$e2e_b/tools/userpool
fi
e2e_s=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
# Debian's python3 (python3-pexpect, python3-cryptography); configure's
# PYTHON3 only where there is none.
if [ -x /usr/bin/python3 ]; then E2E_PY=/usr/bin/python3; else E2E_PY=${PYTHON3:-python3}; fi
# Whole-test time limit (seconds); every step inside has its own.
E2E_LIMIT=${E2E_LIMIT:-600}

e2e_n=0

ok() { # ok NAME: record a pass
	e2e_n=$((e2e_n + 1))
	echo "ok $e2e_n - $1"
}

notok() { # notok NAME [DETAIL FILE...]: record a failure with diagnostics
	e2e_n=$((e2e_n + 1))
	echo "not ok $e2e_n - $1"
	shift
	for f in "$@"; do
		[ -f "$f" ] || continue
		echo "# --- $f"
		tail -n 40 "$f" | sed 's/^/#   /'
	done
}

check() { # check NAME CONDITION-COMMAND...
	local name=$1
	shift
	if "$@"; then ok "$name"; else notok "$name"; fi
}

e2e_skip() {
	echo "1..0 # SKIP $1"
	exit 0
}

# Prerequisites that make the test impossible (not merely failing).
e2e_prereqs() {
	[ "$(id -u)" = 0 ] || e2e_skip "needs root (private mount namespace, sshd, sudo)"
	command -v unshare >/dev/null || e2e_skip "unshare (util-linux) not installed"
	[ -x /usr/sbin/sshd ] || e2e_skip "no /usr/sbin/sshd (install openssh-server)"
	command -v ssh >/dev/null || e2e_skip "no ssh client (install openssh-client)"
	command -v oathtool >/dev/null || e2e_skip "no oathtool (install oathtool)"
	"$E2E_PY" -c 'import pexpect, cryptography' 2>/dev/null ||
		e2e_skip "python3-pexpect or python3-cryptography missing"
	command -v curl >/dev/null || e2e_skip "no curl"
	if [ -n "${UP_E2E_INSTALLED:-}" ]; then
		ls /lib/*/security/pam_userpool.so /usr/lib/*/security/pam_userpool.so \
			>/dev/null 2>&1 || e2e_skip "libpam-userpool is not installed"
		[ -x /usr/sbin/userpool ] || e2e_skip "userpool-tools is not installed"
	else
		for f in "$e2e_b/pam/.libs/pam_userpool.so" "$e2e_b/nss/.libs/libnss_userpool.so.2" \
			"$e2e_b/tools/userpool"; do
			[ -e "$f" ] || e2e_skip "$f not built (run make)"
		done
	fi
}

# Re-execute the calling script inside fresh namespaces (first call only).
e2e_enter_ns() {
	if [ -z "${UP_E2E_INNER:-}" ]; then
		unshare -m -p -f --kill-child --mount-proc --propagation private true 2>/dev/null ||
			e2e_skip "cannot create private mount and PID namespaces here"
		exec timeout -k 10 "$E2E_LIMIT" env UP_E2E_INNER=1 \
			unshare -m -p -f --kill-child --mount-proc --propagation private \
			/bin/bash "$0" "$@"
	fi
}

# The system directory glibc loads NSS modules from.
e2e_nss_libdir() {
	local p
	p=$(ldconfig -p 2>/dev/null | awk '/libnss_files\.so\.2 .*x86-64|libnss_files\.so\.2 \(libc6\)|libnss_files\.so\.2 .*aarch64/ {print $NF; exit}')
	[ -n "$p" ] || p=$(ls /lib/*/libnss_files.so.2 /usr/lib/*/libnss_files.so.2 2>/dev/null | head -n1)
	[ -n "$p" ] && dirname "$(readlink -f "$p")"
}

e2e_cleanup() {
	# Everything else dies with the PID namespace; stop the servers first
	# so that their logs are complete.
	[ -n "${e2e_sshd_pid:-}" ] && kill "$e2e_sshd_pid" 2>/dev/null
	[ -n "${e2e_pool_pid:-}" ] && kill "$e2e_pool_pid" 2>/dev/null
	wait 2>/dev/null
	if [ -n "${E2E_KEEP:-}" ]; then
		echo "# kept $tmp" >&2
	else
		rm -rf "$tmp"
	fi
}

# Namespace file system: test copies and empty tmpfs mounts.
e2e_setup_fs() {
	tmp=$(mktemp -d /tmp/upe2e.XXXXXX)
	chmod 0700 "$tmp"
	trap e2e_cleanup EXIT
	trap 'exit 1' INT TERM HUP
	mount -t tmpfs -o mode=0755 tmpfs /var/lib
	mkdir -m 0711 /var/lib/userpool
	mount -t tmpfs -o mode=0755 tmpfs /var/log
	mount -t tmpfs -o mode=0755 tmpfs /run
	mkdir -m 0755 /run/sshd
	mount -t tmpfs -o mode=0755 tmpfs /home

	mkdir "$tmp/pam.d"
	cp -a /etc/pam.d/. "$tmp/pam.d/"
	mount --bind "$tmp/pam.d" /etc/pam.d

	sed -e 's/^passwd:.*/passwd: files userpool/' -e 's/^group:.*/group: files userpool/' \
		/etc/nsswitch.conf > "$tmp/nsswitch.conf"
	grep -q '^passwd:' "$tmp/nsswitch.conf" || echo 'passwd: files userpool' >> "$tmp/nsswitch.conf"
	grep -q '^group:' "$tmp/nsswitch.conf" || echo 'group: files userpool' >> "$tmp/nsswitch.conf"
	mount --bind "$tmp/nsswitch.conf" /etc/nsswitch.conf

	local libdir
	# Installed: the package's NSS module is already in the library path.
	[ -n "${UP_E2E_INSTALLED:-}" ] && return 0
	libdir=$(e2e_nss_libdir)
	if [ -z "$libdir" ]; then
		echo "Bail out! cannot find the directory of libnss_files.so.2"
		exit 1
	fi
	# The overlay's upper layer lives on the namespace's /run tmpfs: it
	# stays busy until the namespace ends and leaves nothing behind.
	local nsslib=/run/userpool-e2e-nsslib
	mkdir -m 0755 "$nsslib"
	cp "$e2e_b/nss/.libs/libnss_userpool.so.2" "$nsslib/"
	chmod 0644 "$nsslib/libnss_userpool.so.2"
	if ! mount -t overlay overlay -o "lowerdir=$nsslib:$libdir" "$libdir"; then
		echo "Bail out! cannot overlay $libdir with the NSS module"
		exit 1
	fi
}

# Admin call to the test pool: e2e_admin OP JSON → response on stdout.
e2e_admin() {
	curl -sS -m 15 --cacert "$tmp/ca/ca.pem" -H 'Content-Type: application/json' \
		--data-binary "$2" "${pool_url}admin/$1"
}

# A JSON field of the response of an admin call.
e2e_admin_field() { # OP JSON FIELD
	e2e_admin "$1" "$2" | "$E2E_PY" -c 'import json,sys; v=json.load(sys.stdin).get(sys.argv[1]); print("" if v is None else v)' "$3"
}

e2e_start_pool() {
	mkdir -m 0700 "$tmp/pool" "$tmp/ca"
	"$E2E_PY" "$e2e_s/tests/pool/pool.py" --port 0 --state "$tmp/pool" --tls "$tmp/ca" \
		--ready-file "$tmp/pool.url" > "$tmp/pool.out" 2> "$tmp/pool.err" &
	e2e_pool_pid=$!
	local i
	for i in $(seq 1 600); do
		[ -s "$tmp/pool.url" ] && break
		kill -0 "$e2e_pool_pid" 2>/dev/null || break
		sleep 0.1
	done
	if [ ! -s "$tmp/pool.url" ]; then
		echo "Bail out! test pool did not start"
		sed 's/^/# /' "$tmp/pool.err"
		exit 1
	fi
	pool_url=$(cat "$tmp/pool.url")
	pool_id=us-east-1_TestPool1
	conf=$tmp/userpool.conf
	cat > "$conf" <<-EOF
	# end-to-end test configuration
	region = us-east-1
	user_pool_id = $pool_id
	client_id = userpooltestclient00000001
	endpoint = $pool_url
	issuer = $pool_url$pool_id
	ca_file = $tmp/ca/ca.pem
	state_dir = /var/lib/userpool
	auth_flow = srp
	timeout = 15s
	EOF
	chown root:root "$conf"
	chmod 0600 "$conf"
	if [ -n "${UP_E2E_INSTALLED:-}" ]; then
		# The installed module reads the default path: a namespace copy.
		mkdir -p /etc/userpool
		[ -e /etc/userpool/userpool.conf ] || : > /etc/userpool/userpool.conf
		mount --bind "$conf" /etc/userpool/userpool.conf
	else
		e2e_pamargs="config=$conf"
		# The build's verifier helper (the installed module has its own).
		echo "verifier_helper = $e2e_b/tools/userpool-verifier" >> "$conf"
	fi
}

# e2e_settle: wait, bounded (60 s), until no cached record's verifier is
# still pending (the verifier helper derives it after the module returned).
e2e_settle() {
	local i
	for i in $(seq 1 1200); do
		grep -qs '"verifier": *"pending\$' /var/lib/userpool/users/*.json || return 0
		sleep 0.05
	done
	return 1
}

# A pool user (password, optional TOTP) provisioned in NSS.
# e2e_pool_user NAME PASSWORD totp|nototp → sets $secret (TOTP secret or empty)
e2e_pool_user() {
	secret=
	e2e_admin create_user "{\"username\":\"$1\",\"password\":\"$2\"}" > /dev/null || return 1
	if [ "$3" = totp ]; then
		secret=$(e2e_admin_field enable_totp "{\"username\":\"$1\"}" secret)
		[ -n "$secret" ] || return 1
	fi
	"$e2e_userpool" --config "$conf" user add "$1" > "$tmp/useradd.$1.log" 2>&1
}

# PAM service file for sshd; $1 = extra session lines.
e2e_pam_sshd() {
	if [ -n "${UP_E2E_INSTALLED:-}" ]; then
		# What an administrator gets from pam-auth-update --enable userpool.
		cat > "/etc/pam.d/$e2e_sshd_service" <<-EOF
		# userpool end-to-end test stack (installed packages)
		@include common-auth
		@include common-account
		@include common-session-noninteractive
		$1
		EOF
		return
	fi
	cat > "/etc/pam.d/$e2e_sshd_service" <<-EOF
	# userpool end-to-end test stack (namespace copy of /etc/pam.d)
	auth     required  $e2e_pammod $e2e_pamargs
	account  required  $e2e_pammod $e2e_pamargs
	password required  pam_deny.so
	session  required  pam_permit.so
	$1
	EOF
}

e2e_free_port() {
	"$E2E_PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# A private sshd on 127.0.0.1; PAM service name = program name.
e2e_sshd_service=sshd-userpool-test
e2e_start_sshd() {
	mkdir -p "$tmp/bin"
	ln -sf /usr/sbin/sshd "$tmp/bin/$e2e_sshd_service"
	[ -f "$tmp/ssh_host_ed25519_key" ] ||
		ssh-keygen -q -t ed25519 -N '' -f "$tmp/ssh_host_ed25519_key" < /dev/null
	local try
	for try in 1 2 3; do
		ssh_port=$(e2e_free_port)
		cat > "$tmp/sshd_config" <<-EOF
		ListenAddress 127.0.0.1:$ssh_port
		HostKey $tmp/ssh_host_ed25519_key
		PidFile $tmp/sshd.pid
		UsePAM yes
		KbdInteractiveAuthentication yes
		PasswordAuthentication no
		PubkeyAuthentication no
		HostbasedAuthentication no
		GSSAPIAuthentication no
		AuthenticationMethods keyboard-interactive
		PermitRootLogin no
		StrictModes no
		UseDNS no
		PrintMotd no
		PrintLastLog no
		X11Forwarding no
		AllowTcpForwarding no
		AuthorizedKeysFile none
		LoginGraceTime 90
		MaxAuthTries 2
		MaxStartups 10:30:60
		LogLevel VERBOSE
		EOF
		/usr/sbin/sshd -t -f "$tmp/sshd_config" > "$tmp/sshd-t.log" 2>&1 || {
			echo "Bail out! sshd refuses the test configuration"
			sed 's/^/# /' "$tmp/sshd-t.log"
			exit 1
		}
		: > "$tmp/sshd.log"
		"$tmp/bin/$e2e_sshd_service" -D -f "$tmp/sshd_config" -E "$tmp/sshd.log" &
		e2e_sshd_pid=$!
		local i
		for i in $(seq 1 100); do
			grep -q "Server listening on 127.0.0.1 port $ssh_port" "$tmp/sshd.log" && return 0
			kill -0 "$e2e_sshd_pid" 2>/dev/null || break
			sleep 0.1
		done
		kill "$e2e_sshd_pid" 2>/dev/null
		wait "$e2e_sshd_pid" 2>/dev/null
		e2e_sshd_pid=
	done
	echo "Bail out! test sshd did not start"
	sed 's/^/# /' "$tmp/sshd.log"
	exit 1
}

# ssh_login.py with the common arguments; extra arguments follow.
e2e_ssh() { # USER PASSWORD LOGFILE [ssh_login.py options...]
	local user=$1 pw=$2 log=$3
	shift 3
	"$E2E_PY" "$e2e_s/tests/e2e/ssh_login.py" --port "$ssh_port" --user "$user" \
		--password "$pw" --log "$log" "$@"
}

e2e_totp() { # SECRET → current code
	oathtool --totp -b "$1"
}
