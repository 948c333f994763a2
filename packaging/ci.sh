#!/usr/bin/env bash
# packaging/ci.sh: builds the installers and proves they install and start.
#
# Usage: packaging/ci.sh [linux] [windows]     (no argument: both)
#
#   linux    builds the .deb (packaging/build.sh linux), installs it on this
#            machine with dpkg -i + apt-get -f install, checks what it put
#            where, starts the installed console under Xvfb and checks that
#            its window appears (screenshot kept in
#            artifacts/screenshots/installed-console.png), stops it, runs the
#            installed parkd once, then removes the package again (dpkg -r,
#            then --purge for its conffile /etc/default/parkd).
#   windows  builds the GUI .exe and the .msi (packaging/build.sh windows) and
#            checks the MSI with msiinfo/msiextract: its tables, the File
#            table lists the exe, the exe inside is the one built,
#            ProductVersion is FyneApp.toml's Version, the UpgradeCode is the
#            fixed one, upgrades replace same-or-older versions.
#
# Run as root (it installs into the machine). It is idempotent: a switchboard
# package left by an interrupted run is purged first, and the package it
# installs is purged on exit, whatever happened; it stops every process it
# started. Runtime libraries that apt-get -f install pulled in stay
# installed. It fails if it changed the working tree (outputs go to the
# ignored dist/ and artifacts/). Each failed check ends it with one line,
# "FAIL: <reason>", and a non-zero status.
#
# Environment: SB_FROM=HEAD builds the last commit instead of the working
# tree; SB_CONSOLE_ARGS replaces the console's arguments (default: free
# ports and a state log); SB_DIST, SB_TOOLS as for build.sh.
set -euo pipefail

# shellcheck source=packaging/lib.sh
. "$(dirname "$0")/lib.sh"

want_linux=0 want_windows=0
(($# > 0)) || set -- linux windows
for a in "$@"; do
	case "$a" in
	linux | deb) want_linux=1 ;;
	windows | msi) want_windows=1 ;;
	*) die "unknown part \"$a\" (want linux or windows)" ;;
	esac
done
[ "$(id -u)" -eq 0 ] || die "ci.sh installs a .deb into this machine: run it as root"

t_start=$(date +%s)
# What the checks use (build.sh installs what the builds need): a virtual X
# server, a window finder, ImageMagick's import, dbus-launch, and
# desktop-file-validate.
CI_DEBS=(xvfb xdotool imagemagick dbus-x11 desktop-file-utils)
((want_linux == 0)) || need_debs "${CI_DEBS[@]}"
((want_windows == 0)) || need_debs msitools
ARTIFACTS="$ROOT/artifacts"
SHOT="$ARTIFACTS/screenshots/installed-console.png"
load_metadata "$ROOT"
tree_snapshot
TMP="$(mktemp -d "${TMPDIR:-/tmp}/switchboard-ci.XXXXXX")"
installed_by_us=0
passed=0 # checks passed; the first failed one ends the script
pids=() # processes this script started, stopped on exit

stop_pid() { # stop_pid PID [SECONDS]: TERM, then KILL after SECONDS
	local pid="$1" wait="${2:-10}" i
	kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < wait * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	return 1
}

# package_state: dpkg's status of the package ("install ok installed",
# "deinstall ok config-files", ...), empty when dpkg does not know it.
package_state() { dpkg-query -W -f='${Status}' "$DEB_NAME" 2>/dev/null || true; }

# remove_package: dpkg -r, then --purge for what -r leaves (the conffile
# /etc/default/parkd), so that the machine is as before.
remove_package() {
	case "$(package_state)" in
	"") return 0 ;;
	*" config-files" | *" not-installed") ;;
	*) run dpkg -r "$DEB_NAME" || die "dpkg -r $DEB_NAME failed" ;;
	esac
	run dpkg --purge "$DEB_NAME" || die "dpkg --purge $DEB_NAME failed"
}

cleanup() {
	local rc=$? p
	for p in "${pids[@]}"; do stop_pid "$p" 5 || true; done
	if ((installed_by_us)); then
		step "cleanup: remove the package"
		remove_package || rc=1
	fi
	rm -rf "$TMP"
	# The closing line, in the plain form CI reads from any test runner.
	if ((rc == 0)); then
		echo "packaging: $passed passed, 0 failed"
	else
		echo "packaging: $passed passed, 1 failed"
	fi
	exit "$rc"
}

# check NAME FUNCTION: runs one check (a step that ends the script with
# "FAIL: <reason>" if it fails), timed and counted.
check() {
	timed "$1" "$2"
	passed=$((passed + 1))
}
trap cleanup EXIT

# --- Linux -------------------------------------------------------------------

build_deb() {
	step "build: packaging/build.sh linux"
	run "$ROOT/packaging/build.sh" linux
	[ -f "$DEB_FILE" ] || die "build.sh made no $DEB_FILE"
}

install_deb() {
	step "install: dpkg -i $(basename "$DEB_FILE") + apt-get -f install"
	if [ -n "$(package_state)" ]; then
		say "$DEB_NAME is known to dpkg already ($(package_state)): an earlier run? removing it first"
		remove_package
	fi
	installed_by_us=1
	# dpkg -i leaves the package unconfigured when a dependency is missing;
	# apt-get -f install then brings the dependencies in.
	run dpkg -i "$DEB_FILE" || say "dpkg -i left dependencies to apt-get -f install"
	run env DEBIAN_FRONTEND=noninteractive apt-get -f install -y -q --no-install-recommends ||
		die "apt-get -f install could not satisfy the package's dependencies"
	[ "$(package_state)" = "install ok installed" ] ||
		die "$DEB_NAME is not installed after dpkg -i + apt-get -f install"
	say "installed: $(dpkg-query -W -f='${Package} ${Version}' "$DEB_NAME")"
}

check_installed_files() {
	step "check: the installed files"
	local f
	for f in /usr/bin/attendant /usr/bin/parkd \
		"/usr/share/applications/$APP_ID.desktop" \
		"/usr/share/icons/hicolor/512x512/apps/$APP_ID.png" \
		/usr/lib/systemd/system/parkd.service /etc/default/parkd; do
		[ -e "$f" ] || die "the package did not install $f"
		dpkg -S "$f" >/dev/null 2>&1 || die "$f is not owned by a package"
		say "ok $f"
	done
	[ "$(command -v attendant)" = /usr/bin/attendant ] || die "attendant on PATH is $(command -v attendant), not /usr/bin/attendant"
	# The version the console reports is FyneApp.toml's (cmd/attendant keeps
	# its own copy of the identity).
	local v
	v="$(/usr/bin/attendant -version 2>&1)" || die "attendant -version failed: $v"
	say "attendant -version: $v"
	[[ "$v" == *" $APP_VERSION"* ]] || die "attendant -version says \"$v\", FyneApp.toml Version is $APP_VERSION"
	[[ "$v" == *"$APP_ID"* ]] || die "attendant -version says \"$v\", FyneApp.toml ID is $APP_ID"
	local missing
	missing="$(ldd /usr/bin/attendant | grep 'not found' || true)"
	[ -z "$missing" ] || die "the installed console lacks libraries: $(echo "$missing" | tr -s ' \n' ' ')"
	local desktop="/usr/share/applications/$APP_ID.desktop"
	grep -qx "Exec=attendant" "$desktop" || die "$desktop: Exec is $(grep '^Exec=' "$desktop"), want Exec=attendant"
	grep -qx "Icon=$APP_ID" "$desktop" || die "$desktop: Icon is $(grep '^Icon=' "$desktop"), want Icon=$APP_ID"
	grep -qx "Name=$APP_NAME" "$desktop" || die "$desktop: Name is $(grep '^Name=' "$desktop"), want Name=$APP_NAME"
	if command -v desktop-file-validate >/dev/null; then
		run desktop-file-validate "$desktop" || die "desktop-file-validate rejects $desktop"
	fi
	# The unit is installed but not enabled: nothing in a .wants directory.
	if find /etc/systemd/system -name parkd.service -path '*.wants/*' 2>/dev/null | grep -q .; then
		die "parkd.service is enabled after install; it must be disabled by default"
	fi
	say "parkd.service installed and disabled"
}

# free_display: the first display number with neither a lock nor a socket
# (from :120, clear of the :70-:99 that the Go window tests use).
free_display() {
	local n
	for ((n = 120; n < 220; n++)); do
		[ -e "/tmp/.X$n-lock" ] || [ -e "/tmp/.X11-unix/X$n" ] || {
			echo "$n"
			return
		}
	done
	die "no free X display number in :120-:219"
}

check_console_window() {
	step "check: the installed console opens its window under Xvfb"
	local n home="$TMP/home" run_dir="$TMP/run" log="$ARTIFACTS/packaging/installed-console.log"
	mkdir -p "$home" "$run_dir" "$(dirname "$SHOT")" "$(dirname "$log")"
	chmod 700 "$home" "$run_dir"
	n="$(free_display)"
	printf '+ Xvfb :%s -screen 0 1400x900x24 -nolisten tcp -noreset\n' "$n"
	Xvfb ":$n" -screen 0 1400x900x24 -nolisten tcp -noreset >"$TMP/xvfb.log" 2>&1 &
	pids+=($!)
	local i
	for ((i = 0; i < 100; i++)); do
		[ -e "/tmp/.X11-unix/X$n" ] && break
		kill -0 "${pids[-1]}" 2>/dev/null || die "Xvfb :$n exited: $(tail -n1 "$TMP/xvfb.log")"
		sleep 0.1
	done
	[ -e "/tmp/.X11-unix/X$n" ] || die "Xvfb :$n did not start in 10s"
	# The console's world: this display, a private home and runtime
	# directory, its own D-Bus session; X11, not Wayland. Only for the
	# commands below (xenv), not for the rest of the script.
	local xenv=(-u WAYLAND_DISPLAY DISPLAY=":$n" HOME="$home" XDG_RUNTIME_DIR="$run_dir"
		XDG_CONFIG_HOME="$home/.config" XDG_DATA_HOME="$home/.local/share" XDG_CACHE_HOME="$home/.cache")
	local bus DBUS_SESSION_BUS_ADDRESS="" DBUS_SESSION_BUS_PID=""
	bus="$(env "${xenv[@]}" dbus-launch --sh-syntax)" || die "dbus-launch failed"
	eval "$bus"
	[ -n "$DBUS_SESSION_BUS_PID" ] || die "dbus-launch gave no session bus"
	pids+=("$DBUS_SESSION_BUS_PID")
	xenv+=(DBUS_SESSION_BUS_ADDRESS="$DBUS_SESSION_BUS_ADDRESS")

	# Free ports, so that nothing else on the machine (a parkd on 5070, a
	# softphone on 5060) can stop it; the state log tells a start-up error
	# (shown in a window of the same name) from a running console.
	local state="$ARTIFACTS/packaging/installed-console.state.jsonl"
	local args=(-listen 127.0.0.1:0 -park-listen 127.0.0.1:0 -state-log "$state")
	# shellcheck disable=SC2206 # SB_CONSOLE_ARGS is a list of words
	[ -z "${SB_CONSOLE_ARGS:-}" ] || args=($SB_CONSOLE_ARGS)
	rm -f "$state"
	printf '+ attendant %s  (DISPLAY=:%s, log %s)\n' "${args[*]}" "$n" "${log#"$ROOT"/}"
	(cd "$home" && exec env "${xenv[@]}" /usr/bin/attendant "${args[@]}") >"$log" 2>&1 &
	local console=$!
	pids+=("$console")
	local win="" t0
	t0=$(date +%s)
	while (($(date +%s) - t0 < 60)); do
		win="$(env "${xenv[@]}" xdotool search --onlyvisible --name "$APP_NAME" 2>/dev/null | head -n1 || true)"
		[ -n "$win" ] && break
		if ! kill -0 "$console" 2>/dev/null; then
			tail -n 20 "$log" | sed 's/^/      /'
			die "the installed console exited before its window appeared (log: ${log#"$ROOT"/})"
		fi
		sleep 0.5
	done
	if [ -z "$win" ]; then
		tail -n 20 "$log" | sed 's/^/      /'
		die "no visible window named \"$APP_NAME\" within 60s of starting /usr/bin/attendant"
	fi
	say "window $win \"$(env "${xenv[@]}" xdotool getwindowname "$win")\" after $(($(date +%s) - t0))s"
	sleep 2 # let it paint its first frames, and report a failed start
	if [ -f "$state" ] && grep -q '"startup-error"' "$state"; then
		tail -n 20 "$log" | sed 's/^/      /'
		die "the console shows a start-up error: $(grep -m1 '"startup-error"' "$state")"
	fi
	env "${xenv[@]}" xdotool getwindowgeometry "$win" | sed 's/^/    /'
	run env "${xenv[@]}" import -window root "$SHOT" || die "import could not take the screenshot"
	local colours
	colours="$(identify -format '%k' "$SHOT")"
	say "screenshot ${SHOT#"$ROOT"/}: $(identify -format '%wx%h' "$SHOT"), $colours colours"
	((colours > 16)) || die "the screenshot has $colours colours: the window did not render"

	step "stop the console"
	kill -0 "$console" 2>/dev/null || die "the console died after its window appeared (log: ${log#"$ROOT"/})"
	stop_pid "$console" 15 || die "the console did not stop within 15s of SIGTERM"
	say "stopped"
	stop_pid "$DBUS_SESSION_BUS_PID" 5 || true
}

check_parkd() {
	step "check: the installed parkd starts and drains on SIGTERM"
	local out="$TMP/parkd.out" err="$TMP/parkd.err" i
	printf '+ /usr/bin/parkd -listen 127.0.0.1:0 -drain 2s\n'
	/usr/bin/parkd -listen 127.0.0.1:0 -drain 2s >"$out" 2>"$err" &
	local pid=$!
	pids+=("$pid")
	for ((i = 0; i < 100; i++)); do
		[ -s "$out" ] && break
		kill -0 "$pid" 2>/dev/null || die "parkd exited at start: $(tail -n1 "$err")"
		sleep 0.1
	done
	[ -s "$out" ] || die "parkd printed nothing within 10s"
	say "parkd: $(head -n1 "$out")"
	kill -TERM "$pid"
	local rc=0
	wait "$pid" || rc=$?
	((rc == 0)) || die "parkd exited with status $rc on SIGTERM: $(tail -n1 "$err")"
	say "parkd stopped with status 0"
}

uninstall_deb() {
	step "uninstall: dpkg -r, dpkg --purge $DEB_NAME"
	remove_package
	installed_by_us=0
	[ -z "$(package_state)" ] || die "dpkg still knows $DEB_NAME after --purge: $(package_state)"
	local f
	for f in /usr/bin/attendant /usr/bin/parkd "/usr/share/applications/$APP_ID.desktop" \
		"/usr/share/icons/hicolor/512x512/apps/$APP_ID.png" /usr/lib/systemd/system/parkd.service /etc/default/parkd; do
		[ ! -e "$f" ] || die "$f is still there after dpkg -r and --purge"
	done
	say "removed and purged: nothing of the package is left"
}

# --- Windows -----------------------------------------------------------------

build_msi() {
	step "build: packaging/build.sh windows"
	run "$ROOT/packaging/build.sh" windows
	[ -f "$MSI_FILE" ] || die "build.sh made no $MSI_FILE"
}

# msi_table MSI TABLE: the rows of TABLE, without the three header lines.
# (msiinfo export writes the binary cells of a table, like the Icon's, to
# files in TABLE/ under the current directory: run it in the temporary one.)
msi_table() { (cd "$TMP" && msiinfo export "$1" "$2") | tr -d '\r' | tail -n +4; }

check_msi() {
	step "check: the MSI $(basename "$MSI_FILE")"
	local msi="$MSI_FILE" t tables
	tables="$(msiinfo tables "$msi")" || die "msiinfo cannot read $msi"
	for t in Property File Component Directory Feature FeatureComponents Media Shortcut Upgrade Icon InstallExecuteSequence LaunchCondition; do
		grep -qx "$t" <<<"$tables" || die "the MSI has no $t table"
	done
	say "tables: $(echo "$tables" | grep -v '^_' | sort | tr '\n' ' ')"

	local prop
	prop="$(msi_table "$msi" Property)"
	prop_of() { awk -F'\t' -v k="$1" '$1 == k { print $2 }' <<<"$prop"; }
	[ "$(prop_of ProductVersion)" = "$APP_VERSION" ] ||
		die "MSI ProductVersion is \"$(prop_of ProductVersion)\", FyneApp.toml Version is \"$APP_VERSION\""
	[ "$(prop_of ProductName)" = "$APP_NAME" ] || die "MSI ProductName is \"$(prop_of ProductName)\", want \"$APP_NAME\""
	[ "$(prop_of UpgradeCode)" = "{$MSI_UPGRADE_CODE}" ] ||
		die "MSI UpgradeCode is $(prop_of UpgradeCode), want the fixed {$MSI_UPGRADE_CODE}"
	[ "$(prop_of ALLUSERS)" = 1 ] || die "the MSI is not a per-machine install (ALLUSERS=$(prop_of ALLUSERS))"
	[ -n "$(prop_of ARPPRODUCTICON)" ] && msi_table "$msi" Icon | grep -qP "^\\Q$(prop_of ARPPRODUCTICON)\\E\t" ||
		die "the MSI has no Add/Remove Programs icon (ARPPRODUCTICON)"
	say "ProductVersion $APP_VERSION, ProductName $APP_NAME, UpgradeCode {$MSI_UPGRADE_CODE}, ALLUSERS 1, icon $(prop_of ARPPRODUCTICON)"

	local files exe_name size
	exe_name="$(basename "$EXE_FILE")"
	files="$(msi_table "$msi" File)"
	say "File table:"
	sed 's/^/      /' <<<"$files"
	size="$(stat -c %s "$EXE_FILE")"
	awk -F'\t' -v n="$exe_name" -v s="$size" '($3 == n || $3 ~ ("\\|" n "$")) && $4 == s { f = 1 } END { exit !f }' <<<"$files" ||
		die "the File table does not list $exe_name of $size bytes"

	msi_table "$msi" Directory | grep -qP '^INSTALLDIR\tProgramFiles64Folder\t' ||
		die "the MSI does not install into ProgramFiles64Folder"
	msi_table "$msi" Shortcut | grep -qP "^\\S+\\tProgramMenuFolder\\t[^\\t]*$APP_NAME\\t\\S+\\t\\[INSTALLDIR\\]$exe_name\\t" ||
		die "the MSI has no start-menu shortcut to [INSTALLDIR]$exe_name"
	say "installs to ProgramFiles64Folder\\Switchboard, start-menu shortcut to [INSTALLDIR]$exe_name"

	local up
	up="$(msi_table "$msi" Upgrade)"
	awk -F'\t' -v u="{$MSI_UPGRADE_CODE}" -v v="$APP_VERSION" \
		'$1 == u && $3 == v && $5 == 513 && $7 == "WIX_UPGRADE_DETECTED" { f = 1 } END { exit !f }' <<<"$up" ||
		die "the Upgrade table does not replace versions up to and including $APP_VERSION: $(tr '\t\n' ' ;' <<<"$up")"
	awk -F'\t' -v u="{$MSI_UPGRADE_CODE}" -v v="$APP_VERSION" \
		'$1 == u && $2 == v && $5 == 2 && $7 == "WIX_DOWNGRADE_DETECTED" { f = 1 } END { exit !f }' <<<"$up" ||
		die "the Upgrade table does not detect downgrades: $(tr '\t\n' ' ;' <<<"$up")"
	msi_table "$msi" InstallExecuteSequence | grep -qP '^RemoveExistingProducts\t' ||
		die "the MSI never runs RemoveExistingProducts"
	say "MajorUpgrade: replaces versions <= $APP_VERSION, refuses downgrades"

	msiinfo suminfo "$msi" | grep -q '^Template: x64;' || die "the MSI is not for x64: $(msiinfo suminfo "$msi" | grep Template)"

	# The exe inside is byte for byte the one built.
	local x="$TMP/msiextract" got
	mkdir -p "$x"
	(cd "$x" && msiextract "$msi" >/dev/null) || die "msiextract cannot unpack $msi"
	got="$(find "$x" -type f -name "$exe_name" | head -n1)"
	[ -n "$got" ] || die "msiextract found no $exe_name in the MSI"
	cmp -s "$got" "$EXE_FILE" || die "the $exe_name inside the MSI differs from $EXE_FILE"
	say "the MSI carries $exe_name at ${got#"$x"/}, identical to the built one"
}

# --- Run ---------------------------------------------------------------------

if ((want_linux)); then
	check ".deb build (build.sh linux)" build_deb
	check "install (dpkg -i, apt-get -f)" install_deb
	check "installed files" check_installed_files
	check "console window (Xvfb)" check_console_window
	check "installed parkd" check_parkd
	check "uninstall (dpkg -r, purge)" uninstall_deb
fi
if ((want_windows)); then
	check ".exe+.msi build (windows)" build_msi
	check "MSI checks (msiinfo)" check_msi
fi
tree_clean() {
	step "the working tree is as it was"
	tree_unchanged "ci.sh"
}
check "working tree unchanged" tree_clean

TIMINGS+=("$(printf '%-28s %4ds' "ci.sh total" $(($(date +%s) - t_start)))")
print_timings
step "packaging checks passed"
