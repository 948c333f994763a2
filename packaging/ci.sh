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
#            fixed one, upgrades replace same-or-older versions. Then, under
#            Debian's Wine in a throwaway prefix on an Xvfb of its own, it
#            installs the MSI with msiexec /i /qn (the exe in Program Files,
#            the Start-menu shortcut, Add/Remove Programs), starts the
#            installed exe and checks that its window appears and renders
#            (screenshot in artifacts/screenshots/installed-console-wine.png),
#            builds a second MSI one patch version up (build.sh with
#            SB_VERSION) and upgrades to it, checks that the older MSI is
#            refused over it, and uninstalls with msiexec /x /qn. Wine 8.0
#            needs a test-only shim to run Go programs (packaging/wine/).
#
# Run as root (it installs into the machine). It is idempotent: a switchboard
# package left by an interrupted run is purged first, and the package it
# installs is purged on exit, whatever happened; it stops every process it
# started. Runtime libraries that apt-get -f install pulled in stay
# installed; the Wine prefix is deleted with the rest of its temporary
# directory. It fails if it changed the working tree (outputs go to the
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
# The Windows part builds with build.sh's WINDOWS_DEBS (Wine among them) and
# needs a virtual X server and the window finder as well.
((want_windows == 0)) || need_debs "${WINDOWS_DEBS[@]}" xvfb xdotool
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
	! declare -F wine_stop >/dev/null || wine_stop
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

# start_xvfb NAME: starts an Xvfb of its own on a free display (24-bit,
# 1400x900), sets XVFB_DISPLAY to its number once it takes connections, and
# puts it in pids (cleanup stops it). NAME names its log in $TMP.
XVFB_DISPLAY=""
start_xvfb() {
	local n log="$TMP/xvfb-$1.log" i
	n="$(free_display)"
	printf '+ Xvfb :%s -screen 0 1400x900x24 -nolisten tcp -noreset\n' "$n"
	Xvfb ":$n" -screen 0 1400x900x24 -nolisten tcp -noreset >"$log" 2>&1 &
	pids+=($!)
	for ((i = 0; i < 100; i++)); do
		[ -e "/tmp/.X11-unix/X$n" ] && break
		kill -0 "${pids[-1]}" 2>/dev/null || die "Xvfb :$n exited: $(tail -n1 "$log")"
		sleep 0.1
	done
	[ -e "/tmp/.X11-unix/X$n" ] || die "Xvfb :$n did not start in 10s"
	XVFB_DISPLAY="$n"
}

# wait_window DISPLAY PID LOG SECONDS WHAT: waits for a visible window named
# $APP_NAME on DISPLAY and sets WIN to it; fails, with the end of LOG, if PID
# exits first or SECONDS pass. WHAT names the program in the messages.
WIN=""
wait_window() {
	local n="$1" pid="$2" log="$3" limit="$4" what="$5" t0
	WIN=""
	t0=$(date +%s)
	while (($(date +%s) - t0 < limit)); do
		WIN="$(DISPLAY=":$n" xdotool search --onlyvisible --name "$APP_NAME" 2>/dev/null | head -n1 || true)"
		[ -n "$WIN" ] && break
		if ! kill -0 "$pid" 2>/dev/null; then
			tail -n 20 "$log" | sed 's/^/      /'
			die "$what exited before its window appeared (log: ${log#"$ROOT"/})"
		fi
		sleep 0.5
	done
	if [ -z "$WIN" ]; then
		tail -n 20 "$log" | sed 's/^/      /'
		die "no visible window named \"$APP_NAME\" within ${limit}s of starting $what"
	fi
	say "window $WIN \"$(DISPLAY=":$n" xdotool getwindowname "$WIN")\" after $(($(date +%s) - t0))s"
}

# no_startup_error STATE LOG: the console's state log has no start-up error
# (the window of that name that the console shows instead of itself).
no_startup_error() {
	if [ -f "$1" ] && grep -q '"startup-error"' "$1"; then
		tail -n 20 "$2" | sed 's/^/      /'
		die "the console shows a start-up error: $(grep -m1 '"startup-error"' "$1")"
	fi
	return 0
}

# screenshot DISPLAY FILE: photographs the whole screen of DISPLAY (the
# window WIN on it) into FILE and checks that it rendered: more than 16
# colours.
screenshot() {
	local n="$1" shot="$2" colours
	mkdir -p "$(dirname "$shot")"
	DISPLAY=":$n" xdotool getwindowgeometry "$WIN" | sed 's/^/    /'
	run env DISPLAY=":$n" import -window root "$shot" || die "import could not take the screenshot"
	colours="$(identify -format '%k' "$shot")"
	say "screenshot ${shot#"$ROOT"/}: $(identify -format '%wx%h' "$shot"), $colours colours"
	((colours > 16)) || die "the screenshot has $colours colours: the window did not render"
}

check_console_window() {
	step "check: the installed console opens its window under Xvfb"
	local n home="$TMP/home" run_dir="$TMP/run" log="$ARTIFACTS/packaging/installed-console.log"
	mkdir -p "$home" "$run_dir" "$(dirname "$log")"
	chmod 700 "$home" "$run_dir"
	start_xvfb linux
	n="$XVFB_DISPLAY"
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
	wait_window "$n" "$console" "$log" 60 /usr/bin/attendant
	sleep 2 # let it paint its first frames, and report a failed start
	no_startup_error "$state" "$log"
	screenshot "$n" "$SHOT"

	step "stop the console"
	kill -0 "$console" 2>/dev/null || die "the console died after its window appeared (log: ${log#"$ROOT"/})"
	stop_pid "$console" 15 || die "the console did not stop within 15s of SIGTERM"
	say "stopped"
	stop_pid "$DBUS_SESSION_BUS_PID" 5 || true
}

check_parkd() {
	step "check: the installed parkd starts with a store and stops on SIGTERM, keeping its calls"
	local out="$TMP/parkd.out" err="$TMP/parkd.err" i
	printf '+ /usr/bin/parkd -listen 127.0.0.1:0 -drain 2s -state-dir %s\n' "$TMP/parkd-state"
	/usr/bin/parkd -listen 127.0.0.1:0 -drain 2s -state-dir "$TMP/parkd-state" >"$out" 2>"$err" &
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

# --- Windows, under Wine -----------------------------------------------------
# The MSI installed, run, upgraded and removed by Debian's Wine in a throwaway
# prefix under $TMP, on an Xvfb of its own. Wine's programs: Debian's wine64
# package has no `wine` wrapper, so the loader is called by its path.

WINE="" WINESERVER="" # the Wine loader and server (wine_tools)
WINE_PREFIX=""        # the prefix, once made: cleanup ends its processes
WINE_SHIM=0           # 1: the test-only bcryptprimitives.dll is in the prefix
NEXT_VERSION=""       # the newer MSI's version (build_msi_next)
NEXT_DIST=""          # where build_msi_next put it

# wine_tools: sets WINE and WINESERVER, from PATH or Debian's
# /usr/lib/wine.
wine_tools() {
	WINE="$(command -v wine64 || command -v wine || true)"
	[ -n "$WINE" ] || [ ! -x /usr/lib/wine/wine64 ] || WINE=/usr/lib/wine/wine64
	WINESERVER="$(command -v wineserver || true)"
	[ -n "$WINESERVER" ] || [ ! -x /usr/lib/wine/wineserver ] || WINESERVER=/usr/lib/wine/wineserver
	[ -n "$WINE" ] || die "no Wine: neither wine64 nor wine on PATH, nor /usr/lib/wine/wine64 (Debian's wine64)"
	[ -n "$WINESERVER" ] || die "no wineserver on PATH or in /usr/lib/wine"
}

# The world of Windows programs (wine_prefix sets it): the prefix, the Xvfb
# display, a private HOME (Wine links the prefix's user folders into it),
# winemenubuilder off (it would write Linux menu entries for shortcuts), no
# Mono or Gecko asked for.
WINE_ENV=()
# wine_run CMD...: runs a Windows program in the prefix.
wine_run() { env "${WINE_ENV[@]}" "$WINE" "$@"; }

# wine_stop: ends every process of the prefix (wineserver -k) and waits for
# its server to go.
wine_stop() {
	[ -n "$WINE_PREFIX" ] && [ -d "$WINE_PREFIX" ] && [ -n "$WINESERVER" ] || return 0
	WINEPREFIX="$WINE_PREFIX" timeout 30 "$WINESERVER" -k 2>/dev/null || true
	WINEPREFIX="$WINE_PREFIX" timeout 30 "$WINESERVER" -w 2>/dev/null || true
}

# wine_msiexec NAME ARGS...: `msiexec ARGS /qn` with a verbose log in
# artifacts/packaging/msiexec-NAME.log; returns msiexec's status (a Windows
# Installer code such as 1603 arrives as its low byte, 67).
#
# Each run starts on a quiet prefix (wineserver -w: the previous msiexec and
# the services it woke have ended), and Wine's own output goes to
# msiexec-NAME.wine.log. A run that wrote no installer log never reached
# Windows Installer (Wine itself failed to start it, seen once in CI after
# a refused downgrade): it is said and tried once more.
wine_msiexec() {
	local name="$1" log="$ARTIFACTS/packaging/msiexec-$1.log" rc try
	shift
	for try in 1 2; do
		rc=0
		rm -f "$log"
		WINEPREFIX="$WINE_PREFIX" timeout 60 "$WINESERVER" -w 2>/dev/null || true
		printf '+ wine msiexec %s /qn  (log %s)\n' "$*" "${log#"$ROOT"/}"
		wine_run msiexec "$@" /qn /l*v "Z:${log//\//\\}" >"$ARTIFACTS/packaging/msiexec-$name.wine.log" 2>&1 || rc=$?
		say "msiexec: exit status $rc"
		[ "$rc" -ne 0 ] && [ ! -s "$log" ] && [ "$try" = 1 ] || break
		say "msiexec wrote no installer log: Wine did not start it ($(tail -n1 "$ARTIFACTS/packaging/msiexec-$name.wine.log" | tr -d '\r')); once more"
	done
	return "$rc"
}

# wine_products: one line "PRODUCT-CODE VERSION" per program named $APP_NAME
# in the prefix's Add/Remove Programs (the Uninstall key of the registry).
wine_products() {
	local key='HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall' out
	out="$(wine_run reg query "$key" /s 2>/dev/null)" || die "wine reg query $key /s failed"
	tr -d '\r' <<<"$out" |
		awk -v name="$APP_NAME" '
			/^HKEY_/ { k = $0; sub(/.*\\/, "", k) }
			$1 == "DisplayName" && $2 == "REG_SZ" { n[k] = $0; sub(/^[ \t]*DisplayName[ \t]+REG_SZ[ \t]+/, "", n[k]) }
			$1 == "DisplayVersion" && $2 == "REG_SZ" { v[k] = $3 }
			END { for (k in n) if (n[k] == name) print k, v[k] }'
}

# wine_registered VERSION: the product is registered exactly once, at VERSION.
wine_registered() {
	local got
	got="$(wine_products)"
	say "Add/Remove Programs: ${got:-nothing named $APP_NAME}"
	[ "$(grep -c . <<<"$got")" = 1 ] || die "want $APP_NAME registered once, Add/Remove Programs has: $(tr '\n' ';' <<<"$got")"
	[ "${got##* }" = "$1" ] || die "$APP_NAME is registered at version ${got##* }, want $1"
}

WINE_INSTALLDIR="" # drive_c/Program Files/NAME in the prefix
wine_exe() { echo "$WINE_INSTALLDIR/$(basename "$EXE_FILE")"; }

# wine_shortcuts: the Start-menu shortcuts named $APP_NAME in the prefix.
# Windows puts a per-machine install's in ProgramData; Wine 8.0's msi puts
# them in the user's Start menu whatever ALLUSERS says (its ProgramMenuFolder
# is always the user's, a known FIXME): both are looked at.
wine_shortcuts() {
	find "$WINE_PREFIX/drive_c/ProgramData/Microsoft/Windows/Start Menu/Programs" \
		"$WINE_PREFIX"/drive_c/users/*/AppData/Roaming/Microsoft/Windows/"Start Menu"/Programs \
		-name "$APP_NAME.lnk" 2>/dev/null || true
}

wineboot_init() {
	wine_run wineboot --init >"$TMP/wineboot.log" 2>&1 || die "wineboot --init failed: $(tail -n3 "$TMP/wineboot.log")"
}

wine_prefix() {
	step "Wine: a fresh prefix and display"
	wine_tools
	say "$("$WINE" --version 2>/dev/null) ($WINE)"
	start_xvfb wine
	WINE_PREFIX="$TMP/wine-prefix"
	WINE_INSTALLDIR="$WINE_PREFIX/drive_c/Program Files/$APP_NAME"
	mkdir -p "$TMP/wine-home" "$ARTIFACTS/packaging"
	WINE_ENV=(-u WAYLAND_DISPLAY DISPLAY=":$XVFB_DISPLAY" HOME="$TMP/wine-home" WINEPREFIX="$WINE_PREFIX"
		WINEARCH=win64 WINEDEBUG=-all WINEDLLOVERRIDES="winemenubuilder.exe=d;mscoree,mshtml=")
	printf '+ wine wineboot --init  (WINEPREFIX=%s, DISPLAY=:%s)\n' "$WINE_PREFIX" "$XVFB_DISPLAY"
	timed "  wineboot --init" wineboot_init
	local sys32="$WINE_PREFIX/drive_c/windows/system32"
	[ -f "$sys32/kernel32.dll" ] || die "wineboot made no prefix: no $sys32/kernel32.dll"
	# Go 1.24+ programs need bcryptprimitives.dll and a UDP ioctl that Wine
	# 8.0 lacks: packaging/wine/bcryptprimitives.c stands in for both, in
	# this prefix only (a newer Wine has its own DLL and is left alone).
	if [ -f "$sys32/bcryptprimitives.dll" ]; then
		say "this Wine has bcryptprimitives.dll: no shim"
	else
		run x86_64-w64-mingw32-gcc -O2 -Wall -shared -s -o "$TMP/bcryptprimitives.dll" \
			"$ROOT/packaging/wine/bcryptprimitives.c" -lbcrypt || die "cannot build the bcryptprimitives.dll shim"
		cp "$TMP/bcryptprimitives.dll" "$sys32/"
		WINE_SHIM=1
		say "this Wine has no bcryptprimitives.dll: the test-only shim of packaging/wine/ is in the prefix's system32"
	fi
}

wine_install() {
	step "Wine: msiexec /i $(basename "$MSI_FILE") /qn"
	wine_msiexec install /i "$MSI_FILE" || die "msiexec /i $(basename "$MSI_FILE") failed"
	[ -f "$(wine_exe)" ] || die "the MSI did not install $(wine_exe)"
	cmp -s "$(wine_exe)" "$EXE_FILE" || die "the installed $(wine_exe) differs from $EXE_FILE"
	say "installed C:\\Program Files\\$APP_NAME\\$(basename "$EXE_FILE"), identical to ${EXE_FILE#"$ROOT"/}"
	local lnk
	lnk="$(wine_shortcuts)"
	[ "$(grep -c . <<<"$lnk")" = 1 ] || die "want one Start-menu shortcut $APP_NAME.lnk in the prefix, found: ${lnk:-none}"
	strings -a "$lnk" | grep -qF "C:\\Program Files\\$APP_NAME\\$(basename "$EXE_FILE")" ||
		die "the shortcut $lnk does not point at C:\\Program Files\\$APP_NAME\\$(basename "$EXE_FILE")"
	say "Start-menu shortcut ${lnk#"$WINE_PREFIX"/} to C:\\Program Files\\$APP_NAME\\$(basename "$EXE_FILE")"
	wine_registered "$APP_VERSION"
}

wine_console() {
	step "Wine: the installed console opens its window"
	local log="$ARTIFACTS/packaging/installed-console-wine.log"
	local state="$ARTIFACTS/packaging/installed-console-wine.state.jsonl"
	local shot="$ARTIFACTS/screenshots/installed-console-wine.png"
	local exe="C:\\Program Files\\$APP_NAME\\$(basename "$EXE_FILE")"
	# As for Linux: free ports, and a state log (a Z: path: the Linux file
	# system as Wine shows it).
	local args=(-listen 127.0.0.1:0 -park-listen 127.0.0.1:0 -state-log "Z:${state//\//\\}")
	rm -f "$state"
	printf '+ wine "%s" %s  (DISPLAY=:%s, log %s)\n' "$exe" "${args[*]}" "$XVFB_DISPLAY" "${log#"$ROOT"/}"
	((WINE_SHIM == 0)) || say "(with the bcryptprimitives.dll shim of packaging/wine/ in the prefix)"
	(cd "$TMP/wine-home" && exec env "${WINE_ENV[@]}" "$WINE" "$exe" "${args[@]}") >"$log" 2>&1 &
	local console=$!
	pids+=("$console")
	# Generous: Wine starts its services, then llvmpipe compiles the shaders.
	wait_window "$XVFB_DISPLAY" "$console" "$log" 120 "$exe under Wine"
	sleep 3 # let it paint its first frames, and report a failed start
	no_startup_error "$state" "$log"
	grep -q '"event":"state"' "$state" 2>/dev/null || die "the console under Wine wrote no state to its state log ${state#"$ROOT"/}"
	screenshot "$XVFB_DISPLAY" "$shot"
	kill -0 "$console" 2>/dev/null || die "the console died after its window appeared (log: ${log#"$ROOT"/})"

	# taskkill without /f sends WM_CLOSE to its windows, as the close button
	# or a log-off does: the console must quit by itself, with status 0.
	step "Wine: close the console (taskkill: WM_CLOSE) and stop Wine (wineserver -k)"
	local i rc=0 t0
	t0=$(date +%s)
	run env "${WINE_ENV[@]}" "$WINE" taskkill /im "$(basename "$EXE_FILE")" || die "taskkill /im $(basename "$EXE_FILE") failed"
	for ((i = 0; i < 200; i++)); do
		kill -0 "$console" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$console" 2>/dev/null && die "the console under Wine did not quit within 20s of WM_CLOSE (log: ${log#"$ROOT"/})"
	wait "$console" 2>/dev/null || rc=$?
	((rc == 0)) || die "the console under Wine quit with status $rc on WM_CLOSE (log: ${log#"$ROOT"/})"
	say "it quit with status 0 after $(($(date +%s) - t0))s"
	wine_stop
}

# build_msi_next: a second MSI, one patch version up, from the same tree
# (build.sh with SB_VERSION, into a directory of its own).
build_msi_next() {
	local major minor patch
	IFS=. read -r major minor patch <<<"$APP_VERSION"
	NEXT_VERSION="$major.$minor.$((patch + 1))"
	NEXT_DIST="$TMP/dist-next"
	step "build: packaging/build.sh windows at version $NEXT_VERSION (SB_VERSION)"
	run env SB_VERSION="$NEXT_VERSION" SB_DIST="$NEXT_DIST" "$ROOT/packaging/build.sh" windows
	[ -f "$NEXT_DIST/switchboard-$NEXT_VERSION-x64.msi" ] || die "build.sh made no switchboard-$NEXT_VERSION-x64.msi"
	! cmp -s "$NEXT_DIST/$(basename "$EXE_FILE")" "$EXE_FILE" ||
		die "the $NEXT_VERSION exe is identical to the $APP_VERSION one: the upgrade check could not tell them apart"
}

wine_upgrade() {
	local next_msi="$NEXT_DIST/switchboard-$NEXT_VERSION-x64.msi" next_exe="$NEXT_DIST/$(basename "$EXE_FILE")"
	step "Wine: upgrade to $NEXT_VERSION with msiexec /i $(basename "$next_msi") /qn"
	wine_msiexec upgrade /i "$next_msi" || die "msiexec /i $(basename "$next_msi") over $APP_VERSION failed"
	cmp -s "$(wine_exe)" "$next_exe" || die "after the upgrade, the installed exe is not the $NEXT_VERSION one"
	say "the installed exe is the $NEXT_VERSION one"
	[ "$(wine_shortcuts | grep -c .)" = 1 ] || die "after the upgrade, want one shortcut, found: $(wine_shortcuts)"
	wine_registered "$NEXT_VERSION"

	step "Wine: downgrade to $APP_VERSION is refused"
	local rc=0
	wine_msiexec downgrade /i "$MSI_FILE" || rc=$?
	cmp -s "$(wine_exe)" "$next_exe" || die "the $APP_VERSION MSI replaced the installed $NEXT_VERSION exe"
	wine_registered "$NEXT_VERSION"
	((rc != 0)) || die "msiexec /i of the older $APP_VERSION MSI over $NEXT_VERSION exited 0; MajorUpgrade must refuse it"
	# Refused for the right reason: FindRelatedProducts saw the newer one.
	grep -aq '^Property(S): WIX_DOWNGRADE_DETECTED = {' "$ARTIFACTS/packaging/msiexec-downgrade.log" ||
		die "msiexec failed, but its log does not show WIX_DOWNGRADE_DETECTED: not MajorUpgrade's refusal (log: artifacts/packaging/msiexec-downgrade.log)"
	say "refused (exit status $rc, WIX_DOWNGRADE_DETECTED), $NEXT_VERSION still installed"
}

wine_uninstall() {
	local next_msi="$NEXT_DIST/switchboard-$NEXT_VERSION-x64.msi"
	step "Wine: msiexec /x $(basename "$next_msi") /qn"
	wine_msiexec uninstall /x "$next_msi" || die "msiexec /x $(basename "$next_msi") failed"
	[ ! -e "$(wine_exe)" ] || die "$(wine_exe) is still there after msiexec /x"
	[ ! -e "$WINE_INSTALLDIR" ] || die "$WINE_INSTALLDIR is still there after msiexec /x: $(ls -A "$WINE_INSTALLDIR" | tr '\n' ' ')"
	[ -z "$(wine_shortcuts)" ] || die "the Start-menu shortcut is still there after msiexec /x: $(wine_shortcuts)"
	local left
	left="$(wine_products)"
	[ -z "$left" ] || die "Add/Remove Programs still lists $APP_NAME after msiexec /x: $(tr '\n' ';' <<<"$left")"
	say "removed: no exe, no install folder, no shortcut, nothing in Add/Remove Programs"
	wine_stop
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
	check "Wine prefix (wineboot)" wine_prefix
	check "Wine: msiexec /i" wine_install
	check "Wine: console window" wine_console
	check "newer .msi (SB_VERSION)" build_msi_next
	check "Wine: upgrade, downgrade" wine_upgrade
	check "Wine: msiexec /x" wine_uninstall
fi
tree_clean() {
	step "the working tree is as it was"
	tree_unchanged "ci.sh"
}
check "working tree unchanged" tree_clean

TIMINGS+=("$(printf '%-28s %4ds' "ci.sh total" $(($(date +%s) - t_start)))")
print_timings
step "packaging checks passed"
