#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# End-to-end (issue 25): a real LightDM + lightdm-gtk-greeter under Xvfb,
# driven with xdotool, signs pool users in through pam_userpool.so:
#   - password + code: the session starts;
#   - a user without TOTP (enroll_on_login = yes): the module sends the short
#     fallback (qr = auto at a greeter, every message <= PAM_MAX_MSG_SIZE; a
#     2,986-byte QR message froze the greeter before), the test takes the
#     secret from the test pool's admin interface, types the code, and the
#     session starts - so the greeter kept answering.
# Runs as root in private mount and PID namespaces (lib.sh): /etc/pam.d is a
# namespace copy, /run, /var/lib and /var/log are empty tmpfs mounts, a
# private system D-Bus (no logind), LightDM's own config and sessions
# directory. Every wait is bounded; everything dies with the namespace.
set -u
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || e2e_skip "needs root (private mount namespace, LightDM)"
command -v unshare >/dev/null || e2e_skip "unshare (util-linux) not installed"
for p in lightdm lightdm-gtk-greeter Xvfb xdotool dbus-daemon oathtool curl; do
	command -v "$p" >/dev/null || [ -x "/usr/sbin/$p" ] ||
		e2e_skip "LightDM cannot start here: $p is not installed (tests/install-deps installs lightdm lightdm-gtk-greeter xvfb xdotool dbus)"
done
id lightdm >/dev/null 2>&1 || e2e_skip "LightDM cannot start here: no 'lightdm' user (install the lightdm package)"
for f in "$e2e_b/pam/.libs/pam_userpool.so" "$e2e_b/nss/.libs/libnss_userpool.so.2" "$e2e_b/tools/userpool"; do
	[ -e "$f" ] || e2e_skip "$f not built (run make)"
done
[ -n "${UP_E2E_INSTALLED:-}" ] && e2e_skip "the LightDM test runs against the build tree only"
E2E_LIMIT=${E2E_LIMIT:-300}
e2e_enter_ns "$@"

e2e_setup_fs
e2e_start_pool

# wait_for SECONDS CMD...: poll CMD every 0.2 s, at most SECONDS.
wait_for() {
	local n=$(($1 * 5))
	shift
	while [ "$n" -gt 0 ]; do
		"$@" && return 0
		sleep 0.2
		n=$((n - 1))
	done
	return 1
}

r=/run/ldtest # readable by the greeter and session users (not $tmp, 0700)
mkdir -m 0755 "$r" "$r/xs" "$r/cache"
mkdir -m 1777 "$r/marker"
mkdir -p /var/lib/lightdm /var/lib/lightdm-data /run/dbus
chown lightdm:lightdm /var/lib/lightdm /var/lib/lightdm-data

# A free X display number (/tmp/.X11-unix is shared with the machine).
for dn in $(seq 60 99); do
	[ -e "/tmp/.X$dn-lock" ] || [ -e "/tmp/.X11-unix/X$dn" ] || break
done

# LightDM starts "the X server" with VT options Xvfb refuses: keep the
# display and the authority file.
cat > "$r/xserver" <<EOS
#!/bin/sh
d= a=
while [ \$# -gt 0 ]; do
	case \$1 in :*) d=\$1 ;; -auth) shift; a=\$1 ;; esac
	shift
done
echo "\$d \$a" > $r/xinfo
exec Xvfb "\$d" -auth "\$a" -nolisten tcp -screen 0 1024x768x24
EOS
# The session: a marker with the user's name, then back to the greeter.
cat > "$r/session" <<EOS
#!/bin/sh
id -un > $r/marker/\$(id -un)
sleep 1
EOS
printf '#!/bin/sh\nexec "$@"\n' > "$r/wrapper"
chmod 0755 "$r/xserver" "$r/session" "$r/wrapper"
# lightdm-gtk-greeter asks for "lightdm-xsession" (Debian default)
cat > "$r/xs/lightdm-xsession.desktop" <<EOS
[Desktop Entry]
Name=marker
Exec=$r/session
Type=Application
EOS
cat > "$r/lightdm.conf" <<EOS
[LightDM]
minimum-display-number=$dn
logind-check-graphical=false
sessions-directory=$r/xs
cache-directory=$r/cache
[Seat:*]
xserver-command=$r/xserver
greeter-session=lightdm-gtk-greeter
user-session=lightdm-xsession
session-wrapper=$r/wrapper
greeter-hide-users=true
allow-guest=false
EOS

# PAM: the user session through pam_userpool (the greeter's own service,
# lightdm-greeter, stays the package's).
cat > /etc/pam.d/lightdm <<EOP
# userpool LightDM test stack (namespace copy of /etc/pam.d)
auth     required  $e2e_pammod $e2e_pamargs
account  required  $e2e_pammod $e2e_pamargs
password required  pam_deny.so
session  required  pam_permit.so
EOP

alice_pw='Alice-pass-1111'
bob_pw='Bob-pass-2222'
e2e_pool_user alice "$alice_pw" totp || { echo "Bail out! cannot create alice"; exit 1; }
alice_secret=$secret
e2e_pool_user bob "$bob_pw" nototp || { echo "Bail out! cannot create bob"; exit 1; }
for u in alice bob; do
	home=$(getent passwd "$u" | cut -d: -f6)
	uid=$(getent passwd "$u" | cut -d: -f3)
	[ -n "$home" ] && mkdir -p "$home" && chown "$uid" "$home"
done

if ! dbus-daemon --system --fork > "$tmp/dbus.out" 2>&1; then
	e2e_skip "LightDM cannot start here: no private system D-Bus ($(head -c 200 "$tmp/dbus.out"))"
fi
log=$tmp/lightdm.out
lightdm -c "$r/lightdm.conf" -d > "$log" 2>&1 &
ld_pid=$!
# On every exit: LightDM waits forever for a hung greeter (the old bug), so
# it is killed before the cleanup's `wait`.
trap 'kill -KILL "$ld_pid" 2>/dev/null; e2e_cleanup' EXIT

greeter_up() { [ -s "$r/xinfo" ] && grep -q "Greeter start authentication" "$log"; }
if ! wait_for 30 greeter_up; then
	if ! kill -0 "$ld_pid" 2>/dev/null || ! [ -s "$r/xinfo" ]; then
		e2e_skip "LightDM cannot start here: $(grep -m1 -iE 'error|fail' "$log" || tail -n1 "$log")"
	fi
	echo "Bail out! LightDM started but no greeter within 30 s"
	tail -n 20 "$log" | sed 's/^/# /'
	exit 1
fi
read -r disp xauth < "$r/xinfo"
export DISPLAY=$disp XAUTHORITY=$xauth

prompts() { grep -c "Prompt greeter with" "$log"; }
greeter_pid() { pgrep -u lightdm lightdm-gtk | head -n1; }
# The greeter answers: its X window is there and it is not stopped.
greeter_answers() {
	local p
	p=$(greeter_pid)
	[ -n "$p" ] && timeout 5 xdotool search --onlyvisible --class lightdm-gtk-greeter > /dev/null &&
		! grep -q '^State:.*[TD]' "/proc/$p/status"
}
# type_at N TEXT: once the greeter has been prompted N times in all (LightDM's
# debug log), type TEXT into the focused field and press Enter.
type_at() {
	wait_for 20 sh -c "[ \$(grep -c 'Prompt greeter with' '$log') -ge $1 ]" || return 1
	sleep 1
	timeout 10 xdotool type --delay 30 "$2" && timeout 5 xdotool key Return
}
# sign_in USER PASSWORD CODE-COMMAND...: user name, password, then the code
# CODE-COMMAND prints (run once the code is asked for: after the password,
# the module's text and the code prompt).
sign_in() {
	local c code
	wait_for 20 greeter_answers || return 1
	wait_for 20 sh -c "[ \$(grep -c 'Prompt greeter with' '$log') -gt $prompts_done ]" || return 1
	c=$(prompts) # the user name prompt is showing
	type_at "$c" "$1" || return 1
	type_at "$((c + 1))" "$2" || return 1
	wait_for 20 sh -c "[ \$(grep -c 'Prompt greeter with' '$log') -ge $((c + 2)) ]" || return 1
	sleep 1
	code=$("${@:3}")
	[ -n "$code" ] || return 1
	type_at "$(prompts)" "$code"
	prompts_done=$(prompts)
}
prompts_done=0

# --- password + code: the session starts ---------------------------------
if sign_in alice "$alice_pw" oathtool --totp -b "$alice_secret" &&
	wait_for 30 test -s "$r/marker/alice"; then
	ok "LightDM: alice signs in with password + code, her session starts"
else
	notok "LightDM: alice signs in with password + code, her session starts" "$log" /var/log/lightdm/seat0-greeter.log
fi

# --- no TOTP, enroll_on_login = yes: the short fallback, then the code -----
pending_code() {
	local s
	s=$(e2e_admin_field get_totp_secret '{"username":"bob"}' session_pending)
	[ -n "$s" ] && oathtool --totp -b "$s"
}
wait_for 30 greeter_answers
greeters_before=$(grep -c "Greeter connected" "$log")
if sign_in bob "$bob_pw" pending_code && wait_for 30 test -s "$r/marker/bob"; then
	ok "LightDM: bob (no TOTP) enrols at the greeter from the fallback text, his session starts"
else
	notok "LightDM: bob (no TOTP) enrols at the greeter from the fallback text, his session starts" "$log" /var/log/lightdm/seat0-greeter.log
fi
check "LightDM: the pool has bob's authenticator after the greeter enrolment" \
	test "$(e2e_admin_field get_totp_secret '{"username":"bob"}' enabled)" = True

# --- the greeter never froze: it took bob's code, let his session run, and a
# new greeter connected and asks for a user name again (a frozen greeter,
# issue 25, never gets here) -------------------------------------------------
greeter_back() {
	[ "$(grep -c "Greeter connected" "$log")" -gt "$greeters_before" ] &&
		[ "$(grep -c 'Prompt greeter with' "$log")" -gt "$prompts_done" ] && greeter_answers
}
check "LightDM: after bob's enrolment a new greeter connects and prompts (bounded wait)" wait_for 30 greeter_back

# LightDM waits for a hung greeter (the old bug) forever: SIGKILL after a
# bounded wait, so that the cleanup's `wait` returns; everything else dies
# with the PID namespace.
kill "$ld_pid" 2>/dev/null
wait_for 10 sh -c "! kill -0 $ld_pid 2>/dev/null" || kill -KILL "$ld_pid" 2>/dev/null
echo "1..$e2e_n"
