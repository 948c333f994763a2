#!/usr/bin/env bash
# packaging/build.sh: builds Switchboard's installers into dist/.
#
# Usage: packaging/build.sh [linux] [windows]     (no argument: both)
#
#   linux    dist/switchboard-VERSION-linux-amd64.tar.xz  (fyne package -os linux --release)
#            dist/switchboard_VERSION_amd64.deb           (nfpm: the console, its desktop
#                                                          entry and icon, parkd and a
#                                                          disabled systemd unit)
#   windows  dist/NAME.exe                                (fyne package -os windows --release,
#                                                          cross-compiled with MinGW-w64)
#            dist/switchboard-VERSION-x64.msi             (wixl from packaging/switchboard.wxs)
#
# NAME, VERSION and the build number come from FyneApp.toml. `fyne package`
# bumps Build in FyneApp.toml on every run, so everything is built from a
# copy of the tree in a temporary directory: the working tree is left as it
# was (the script checks). The copy is of the working tree, uncommitted
# changes included; SB_FROM=HEAD builds the last commit instead.
#
# It installs what is missing: Debian packages (as root, or with sudo) and
# the Go tools at exact versions (fyne.io/tools v1.7.4, nfpm v2.45.2) into
# ~/.cache/switchboard/tools. Environment: SB_DIST (output directory, default
# dist/), SB_FROM (worktree or HEAD), SB_TOOLS (where the Go tools go),
# SB_VERSION (a MAJOR.MINOR.PATCH that replaces FyneApp.toml's Version, in
# the copy only), SB_KEEP_WORK=1 keeps the temporary copy. Each failed step ends it with one
# line, "FAIL: <reason>", and a non-zero status.
set -euo pipefail

# shellcheck source=packaging/lib.sh
. "$(dirname "$0")/lib.sh"

want_linux=0 want_windows=0
(($# > 0)) || set -- linux windows
for a in "$@"; do
	case "$a" in
	linux | deb) want_linux=1 ;;
	windows | msi) want_windows=1 ;;
	-h | --help)
		sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
		exit 0
		;;
	*) die "unknown target \"$a\" (want linux or windows)" ;;
	esac
done

# --- What is needed ----------------------------------------------------------
step "tools"
run go version
debs=("${BUILD_DEBS[@]}")
((want_windows == 0)) || debs+=("${WINDOWS_DEBS[@]}")
need_debs "${debs[@]}"
need_go_tools

load_metadata "$ROOT"
say "app: $APP_NAME ($APP_ID) version $APP_VERSION build $APP_BUILD, metadata ${METADATA#"$ROOT"/}"
[ -d "$ROOT/$CONSOLE_PKG" ] || die "$CONSOLE_PKG does not exist: there is no console to package yet"

tree_snapshot
mkdir -p "$DIST"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/switchboard-pkg.XXXXXX")"
cleanup() {
	if [ "${SB_KEEP_WORK:-0}" = 1 ]; then
		say "kept the work directory $WORK"
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT

# --- The copy of the tree ----------------------------------------------------
SRC="$WORK/src"
step "copy of the tree (${SB_FROM:-worktree}) in $SRC"
mkdir -p "$SRC"
if [ "${SB_FROM:-worktree}" = HEAD ]; then
	git -C "$ROOT" archive --format=tar HEAD | tar -x -C "$SRC"
else
	# Tracked and untracked files that are not ignored, as they are on disk.
	(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
		tar --null -T - -cf -) | tar -xf - -C "$SRC"
fi
# SB_VERSION: another version than FyneApp.toml's, set in the copy only
# (ci.sh builds a newer MSI with it to test upgrades).
if [ -n "${SB_VERSION:-}" ]; then
	[[ "$SB_VERSION" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "SB_VERSION \"$SB_VERSION\" is not MAJOR.MINOR.PATCH"
	load_metadata "$SRC"
	toml_set "$METADATA" Details Version "$SB_VERSION" || die "cannot set Version in the copy's ${METADATA#"$SRC"/}"
	say "version $SB_VERSION (SB_VERSION), not FyneApp.toml's $APP_VERSION"
fi
load_metadata "$SRC"
ICON_ABS="$SRC/$APP_ICON"
PKGDIR="$SRC/$CONSOLE_PKG"
[ -d "$PKGDIR" ] || die "the copy has no $CONSOLE_PKG (SB_FROM=${SB_FROM:-worktree})"

# fresh_metadata puts the pristine FyneApp.toml in the main package's
# directory of the copy, where fyne reads it (again before every fyne
# package, which bumps its Build).
cp "$METADATA" "$WORK/FyneApp.toml.orig"
fresh_metadata() { cp "$WORK/FyneApp.toml.orig" "$PKGDIR/FyneApp.toml"; }

# --- Linux: fyne package tarball and .deb -----------------------------------
build_linux() {
	step "linux: fyne package -os linux --release"
	fresh_metadata
	local out="$WORK/linux"
	mkdir -p "$out"
	(cd "$out" && run "$FYNE" package -os linux --release --src "$PKGDIR" --icon "$ICON_ABS") ||
		die "fyne package -os linux failed"
	[ -f "$out/$APP_NAME.tar.xz" ] || die "fyne package made no $APP_NAME.tar.xz"
	run cp "$out/$APP_NAME.tar.xz" "$TARBALL"

	step "linux: stage the .deb's files from the tarball"
	local unpack="$WORK/linux/unpack" stage="$WORK/stage"
	mkdir -p "$unpack"
	tar -xJf "$TARBALL" -C "$unpack"
	local bin desktop icon
	bin="$(find "$unpack" -path "*/bin/$CONSOLE_EXE" -type f | head -n1)"
	desktop="$(find "$unpack" -path "*/share/applications/$APP_ID.desktop" -type f | head -n1)"
	icon="$(find "$unpack" -path "*/share/pixmaps/$APP_ID.png" -type f | head -n1)"
	[ -n "$bin" ] || die "the fyne tarball has no bin/$CONSOLE_EXE"
	[ -n "$desktop" ] || die "the fyne tarball has no share/applications/$APP_ID.desktop"
	[ -n "$icon" ] || die "the fyne tarball has no share/pixmaps/$APP_ID.png"
	grep -q "^Exec=$CONSOLE_EXE" "$desktop" || die "the desktop entry does not run $CONSOLE_EXE: $(grep ^Exec= "$desktop")"
	install -Dm755 "$bin" "$stage/usr/bin/$CONSOLE_EXE"
	install -Dm644 "$desktop" "$stage/usr/share/applications/$APP_ID.desktop"
	install -Dm644 "$icon" "$stage/usr/share/icons/hicolor/512x512/apps/$APP_ID.png"
	say "desktop entry:"
	sed 's/^/      /' "$desktop"

	step "linux: parkd"
	(cd "$SRC" && run env CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$stage/usr/bin/parkd" ./cmd/parkd) ||
		die "go build ./cmd/parkd failed"

	step "linux: nfpm package deb"
	rm -f "$DEB_FILE"
	(cd "$SRC" && run env SB_STAGE="$stage" SB_VERSION="$APP_VERSION" SB_APP_ID="$APP_ID" \
		"$NFPM" package --packager deb --config packaging/nfpm.yaml --target "$DEB_FILE") ||
		die "nfpm package failed"
	[ -f "$DEB_FILE" ] || die "nfpm made no $DEB_FILE"
	run dpkg-deb --info "$DEB_FILE"
	run dpkg-deb --contents "$DEB_FILE"
}

# --- Windows: cross-compiled GUI exe and .msi --------------------------------
build_windows() {
	step "windows: fyne package -os windows --release (MinGW-w64 cross build)"
	fresh_metadata
	local out="$WORK/windows"
	mkdir -p "$out"
	rm -f "$PKGDIR/$APP_NAME.exe" "$PKGDIR/$CONSOLE_EXE.exe"
	(cd "$out" && run env CC=x86_64-w64-mingw32-gcc CXX=x86_64-w64-mingw32-g++ GOOS=windows GOARCH=amd64 CGO_ENABLED=1 \
		"$FYNE" package -os windows --release --src "$PKGDIR" --icon "$ICON_ABS") ||
		die "fyne package -os windows failed"
	[ -f "$PKGDIR/$APP_NAME.exe" ] || die "fyne package made no $APP_NAME.exe"
	run cp "$PKGDIR/$APP_NAME.exe" "$EXE_FILE"
	local kind
	kind="$(file -b "$EXE_FILE")"
	say "$kind"
	[[ "$kind" == *"PE32+ executable (GUI) x86-64"* ]] || die "$EXE_FILE is not a 64-bit Windows GUI executable: $kind"

	step "windows: wixl (msi)"
	rm -f "$MSI_FILE"
	# wixl finds sources by paths relative to where it runs: gather them.
	local msidir="$WORK/msi"
	mkdir -p "$msidir"
	cp "$EXE_FILE" "$msidir/"
	# The icon of Add/Remove Programs: an .ico made from the app icon (giving
	# the exe itself would store a second copy of it in the MSI).
	run convert "$ICON_ABS" -define icon:auto-resize=256,64,48,32,16 "$msidir/$APP_NAME.ico" ||
		die "convert could not make $APP_NAME.ico"
	(cd "$msidir" && run wixl -v -a x64 \
		-D Version="$APP_VERSION" -D ProductName="$APP_NAME" -D ExeName="$APP_NAME.exe" \
		-D ExeSource="$APP_NAME.exe" -D IconSource="$APP_NAME.ico" -D UpgradeCode="$MSI_UPGRADE_CODE" \
		-o "$MSI_FILE" "$SRC/packaging/switchboard.wxs") || die "wixl failed"
	[ -f "$MSI_FILE" ] || die "wixl made no $MSI_FILE"

	# wixl (msitools 0.101) ignores MajorUpgrade's AllowSameVersionUpgrades:
	# set VersionMaxInclusive (512) on the upgrade row so that a rebuild of the
	# same version replaces the installed one instead of installing beside it.
	step "windows: same-version upgrades (Upgrade table)"
	local idt="$WORK/Upgrade.idt"
	(cd "$WORK" && msiinfo export "$MSI_FILE" Upgrade) >"$idt" || die "msiinfo export Upgrade failed"
	sed -i 's/\t1\t\tWIX_UPGRADE_DETECTED\r$/\t513\t\tWIX_UPGRADE_DETECTED\r/' "$idt"
	grep -q $'\t513\t\tWIX_UPGRADE_DETECTED\r$' "$idt" || die "the MSI's Upgrade table has no upgrade row to patch"
	run msibuild "$MSI_FILE" -i "$idt" || die "msibuild -i Upgrade.idt failed"
	(cd "$WORK" && msiinfo export "$MSI_FILE" Upgrade) | tr -d '\r' | tail -n +4 | sed 's/^/      /'
}

((want_linux == 0)) || timed "linux tar.xz + .deb" build_linux
((want_windows == 0)) || timed "windows .exe + .msi" build_windows

step "the working tree is as it was"
tree_unchanged "the build"

step "built"
((want_linux == 0)) || ls -l "$TARBALL" "$DEB_FILE"
((want_windows == 0)) || ls -l "$EXE_FILE" "$MSI_FILE"
print_timings
