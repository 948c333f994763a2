# packaging/lib.sh: helpers shared by build.sh and ci.sh.
# Sourced, not run. Every failed check ends the script with one line,
# "FAIL: <reason>", on standard error and a non-zero status.

# Exact versions of the Go tools the packaging uses. They are installed with
# `go install` into a private directory, never as tool lines in go.mod (which
# would pull Fyne forward).
FYNE_TOOLS_VERSION=v1.7.4
NFPM_VERSION=v2.45.2

# The repository root (packaging/..).
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIST="${SB_DIST:-$ROOT/dist}"

step() { printf '\n==> %s\n' "$*"; }
say() { printf '    %s\n' "$*"; }
run() {
	printf '+ %s\n' "$*"
	"$@"
}
die() {
	printf 'FAIL: %s\n' "$*" >&2
	exit 1
}

# Timings: `timed NAME cmd...` runs cmd and records how long it took;
# print_timings prints them all.
TIMINGS=()
# Not to be called in a condition: under set -e a failing step must end the
# script.
timed() {
	local name="$1" t0
	shift
	t0=$(date +%s)
	"$@"
	TIMINGS+=("$(printf '%-28s %4ds' "$name" $(($(date +%s) - t0)))")
}
print_timings() {
	step "timings"
	local t
	for t in "${TIMINGS[@]}"; do say "$t"; done
}

# need_debs PKG...: installs the Debian packages that are missing, with one
# apt-get update, as .ci/run does; names what it installs.
need_debs() {
	local p missing=()
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
	done
	((${#missing[@]} > 0)) || return 0
	local sudo=()
	if [ "$(id -u)" -ne 0 ]; then
		command -v sudo >/dev/null || die "missing Debian packages: ${missing[*]} (install them as root)"
		sudo=(sudo)
	fi
	say "missing Debian packages: ${missing[*]}"
	run "${sudo[@]}" apt-get update -q || die "apt-get update failed"
	run "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -q --no-install-recommends "${missing[@]}" ||
		die "apt-get install ${missing[*]} failed"
}

# Debian packages every build needs: cgo with the GL/X11/Wayland headers that
# Fyne's GLFW compiles against, and xz for the fyne tarball.
BUILD_DEBS=(gcc libc6-dev pkg-config xz-utils
	libgl1-mesa-dev libx11-dev libxcursor-dev libxrandr-dev libxinerama-dev
	libxi-dev libxxf86vm-dev libwayland-dev libxkbcommon-dev wayland-protocols)
# ... and the Windows side: the MinGW-w64 cross compiler, wixl, msiinfo and
# msibuild, ImageMagick (the .ico) and file (checks the .exe); wine64, in
# which ci.sh installs and runs the MSI (Debian 12's Wine 8.0, without its
# recommends: the GL and X11 libraries it loads come with BUILD_DEBS).
WINDOWS_DEBS=(gcc-mingw-w64-x86-64 wixl msitools imagemagick file wine64)

# Go tools at exact versions, in a directory of their own.
TOOLS="${SB_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/switchboard/tools}"
FYNE="$TOOLS/fyne-$FYNE_TOOLS_VERSION/fyne"
NFPM="$TOOLS/nfpm-$NFPM_VERSION/nfpm"

# has_go_tool BINARY MODULE VERSION: BINARY exists and was built from MODULE
# at VERSION (read from the build info go install puts in it).
has_go_tool() {
	[ -x "$1" ] && go version -m "$1" 2>/dev/null | grep -qP "^\s+mod\s+\Q$2\E\s+\Q$3\E\s"
}

need_go_tools() {
	local fyne_mod=fyne.io/tools nfpm_mod=github.com/goreleaser/nfpm/v2
	if has_go_tool "$FYNE" "$fyne_mod" "$FYNE_TOOLS_VERSION"; then
		say "present: fyne $FYNE_TOOLS_VERSION ($FYNE)"
	else
		run env GOBIN="$(dirname "$FYNE")" go install "$fyne_mod/cmd/fyne@$FYNE_TOOLS_VERSION" ||
			die "go install $fyne_mod/cmd/fyne@$FYNE_TOOLS_VERSION failed"
		has_go_tool "$FYNE" "$fyne_mod" "$FYNE_TOOLS_VERSION" || die "$FYNE is not $fyne_mod $FYNE_TOOLS_VERSION after go install"
	fi
	if has_go_tool "$NFPM" "$nfpm_mod" "$NFPM_VERSION"; then
		say "present: nfpm $NFPM_VERSION ($NFPM)"
	else
		run env GOBIN="$(dirname "$NFPM")" go install "$nfpm_mod/cmd/nfpm@$NFPM_VERSION" ||
			die "go install $nfpm_mod/cmd/nfpm@$NFPM_VERSION failed"
		has_go_tool "$NFPM" "$nfpm_mod" "$NFPM_VERSION" || die "$NFPM is not $nfpm_mod $NFPM_VERSION after go install"
	fi
}

# toml_get FILE SECTION KEY: the value of a simple `key = value` line (a
# quoted string or a number) in [SECTION] of a TOML file; empty if absent.
toml_get() {
	awk -v sec="$2" -v key="$3" '
		/^[ \t]*\[/ { s = $0; gsub(/^[ \t]*\[|\][ \t]*(#.*)?$/, "", s); insec = (s == sec); next }
		insec && $0 ~ "^[ \t]*" key "[ \t]*=" {
			v = $0
			sub("^[ \t]*" key "[ \t]*=[ \t]*", "", v)
			if (v ~ /^"/) { sub(/^"/, "", v); sub(/".*$/, "", v) } else { sub(/[ \t]*(#.*)?$/, "", v) }
			print v
			exit
		}' "$1"
}

# toml_set FILE SECTION KEY VALUE: sets a simple `key = "value"` line in
# [SECTION] of a TOML file to the quoted string VALUE (no quotes or
# backslashes in it); fails if the line is not there.
toml_set() {
	local tmp="$1.toml_set"
	awk -v sec="$2" -v key="$3" -v val="$4" '
		/^[ \t]*\[/ { s = $0; gsub(/^[ \t]*\[|\][ \t]*(#.*)?$/, "", s); insec = (s == sec) }
		insec && !done && $0 ~ "^[ \t]*" key "[ \t]*=" { print key " = \"" val "\""; done = 1; next }
		{ print }
		END { exit !done }' "$1" >"$tmp" || {
		rm -f "$tmp"
		return 1
	}
	mv "$tmp" "$1"
}

# The console's main package and its metadata. DESIGN.md puts FyneApp.toml
# at the root; `fyne package` reads it from the main package's directory, so
# the build copies it there (in its copy of the tree).
CONSOLE_PKG=cmd/attendant
CONSOLE_EXE=attendant # the executable fyne names after the package directory

# load_metadata: APP_NAME, APP_ID, APP_VERSION, APP_BUILD, APP_ICON (relative
# to the repository root) and METADATA (the FyneApp.toml in use) from the tree
# at $1 (default $ROOT).
load_metadata() {
	local tree="${1:-$ROOT}" icon
	if [ -f "$tree/FyneApp.toml" ]; then
		METADATA="$tree/FyneApp.toml"
		METADATA_DIR=""
	elif [ -f "$tree/$CONSOLE_PKG/FyneApp.toml" ]; then
		METADATA="$tree/$CONSOLE_PKG/FyneApp.toml"
		METADATA_DIR="$CONSOLE_PKG/"
	else
		die "no FyneApp.toml at the root or in $CONSOLE_PKG"
	fi
	APP_NAME="$(toml_get "$METADATA" Details Name)"
	APP_ID="$(toml_get "$METADATA" Details ID)"
	APP_VERSION="$(toml_get "$METADATA" Details Version)"
	APP_BUILD="$(toml_get "$METADATA" Details Build)"
	icon="$(toml_get "$METADATA" Details Icon)"
	[ -n "$APP_NAME" ] || die "FyneApp.toml: [Details] Name is missing"
	[ -n "$APP_ID" ] || die "FyneApp.toml: [Details] ID is missing"
	[ -n "$icon" ] || die "FyneApp.toml: [Details] Icon is missing"
	[[ "$APP_VERSION" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] ||
		die "FyneApp.toml: [Details] Version \"$APP_VERSION\" is not MAJOR.MINOR.PATCH (the MSI needs three numbers)"
	[[ "$APP_BUILD" =~ ^[0-9]+$ ]] || APP_BUILD=1
	APP_ICON="$METADATA_DIR$icon"
	[ -f "$tree/$APP_ICON" ] || die "FyneApp.toml: icon $APP_ICON does not exist"
	DEB_NAME=switchboard
	DEB_FILE="$DIST/${DEB_NAME}_${APP_VERSION}_amd64.deb"
	TARBALL="$DIST/switchboard-${APP_VERSION}-linux-amd64.tar.xz"
	EXE_FILE="$DIST/${APP_NAME}.exe"
	MSI_FILE="$DIST/switchboard-${APP_VERSION}-x64.msi"
}

# The MSI's upgrade code: fixed for the life of the product, so that a newer
# MSI replaces an older one (MajorUpgrade). Never change it. ci.sh checks that
# the built MSI carries it.
MSI_UPGRADE_CODE=538C1B9B-C05D-4845-8B2C-D7821BE3E59F

# git_status: the working tree's status, for checking that a build left it
# as it found it.
git_status() { git -C "$ROOT" status --porcelain=v1 --untracked-files=all 2>/dev/null || true; }

# tree_snapshot / tree_unchanged: the check that a script left the working
# tree as it found it. A tree that was clean (CI's fresh clone) must be
# clean at the end. A tree with work in progress may change under the script
# by others' hands, so there only what a packaging run could touch is
# compared: the FyneApp.toml files, and no build leftovers in cmd/attendant.
tree_snapshot() {
	TREE_STATUS="$(git_status)"
	TREE_META="$(cd "$ROOT" && sha256sum FyneApp.toml "$CONSOLE_PKG"/FyneApp.toml 2>/dev/null || true)"
}
tree_unchanged() {
	local what="$1" now leftovers
	now="$(git_status)"
	if [ -z "$TREE_STATUS" ]; then
		if [ -n "$now" ]; then
			echo "$now" | sed 's/^/      /'
			die "$what changed the working tree (it was clean; git status now lists the above)"
		fi
		say "git status: clean before and after"
		return
	fi
	[ "$TREE_META" = "$(cd "$ROOT" && sha256sum FyneApp.toml "$CONSOLE_PKG"/FyneApp.toml 2>/dev/null || true)" ] ||
		die "$what changed FyneApp.toml"
	leftovers="$(cd "$ROOT" && ls -d "$CONSOLE_PKG"/fyne_metadata_init.go "$CONSOLE_PKG"/*.syso "$CONSOLE_PKG"/*.exe Icon 2>/dev/null || true)"
	[ -z "$leftovers" ] || die "$what left build files in the tree: $(echo "$leftovers" | tr '\n' ' ')"
	say "the tree has work in progress: FyneApp.toml unchanged and no build leftovers (git status not compared)"
}
