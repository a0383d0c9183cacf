# Installs mmbuild and its first-party plugins from a release, every file
# checked against the release's SHA256SUMS, and SHA256SUMS itself against
# a pin you keep in your CI config. POSIX sh. Used as it is by the GitHub
# action (ci/github/action.yml) and embedded, line for line, in the GitLab
# template (ci/gitlab/mmbuild.gitlab-ci.yml): a test keeps the two equal.
#
#   MMBUILD_VERSION      the release, e.g. v0.1.0 (required)
#   MMBUILD_SHA256SUMS   sha256 of that release's SHA256SUMS file (required):
#                        the one pin that covers every binary of every platform
#   MMBUILD_RELEASE_URL  where the release's files are: https://…, file:///…
#                        or a folder (default: the GitHub release of the version)
#   MMBUILD_INSTALL_DIR  where to install (default:
#                        ${RUNNER_TOOL_CACHE:-$HOME/.cache}/mmbuild/VERSION);
#                        mmbuild and the plugins go to its bin/, side by side
#
# A release holds SHA256SUMS (sha256sum's format) naming mmbuild_OS_ARCH and
# mmbuild-plugin-NAME_OS_ARCH for each platform (ci/release.sh lays one out).
# Files already installed with the right sha256 are kept. At the end bin/ is
# put first on PATH (and appended to $GITHUB_PATH when that is set). The
# plugins are checked once more at every run, against mmbuild.lock.hcl.
# A failed install leaves no download behind.
mmbuild_partial=""
mmbuild_sums=""
mmbuild_install_fail() {
	[ -z "$mmbuild_partial" ] || rm -f "$mmbuild_partial"
	[ -z "$mmbuild_sums" ] || rm -f "$mmbuild_sums"
	echo "mmbuild install: $*" >&2
	exit 1
}
mmbuild_sha256() {
	if command -v sha256sum >/dev/null 2>&1; then
		sha256sum "$1" | cut -d' ' -f1
	else
		shasum -a 256 "$1" | cut -d' ' -f1
	fi
}
# mmbuild_fetch NAME DEST: one file of the release.
mmbuild_fetch() {
	case "$MMBUILD_RELEASE_URL" in
	http://* | https://*)
		if command -v curl >/dev/null 2>&1; then
			curl -fsSL --retry 3 -o "$2" "$MMBUILD_RELEASE_URL/$1"
		else
			wget -q -O "$2" "$MMBUILD_RELEASE_URL/$1"
		fi ;;
	file://*) cp "${MMBUILD_RELEASE_URL#file://}/$1" "$2" ;;
	*) cp "$MMBUILD_RELEASE_URL/$1" "$2" ;;
	esac
}
[ -n "${MMBUILD_VERSION:-}" ] || mmbuild_install_fail "MMBUILD_VERSION is not set (the release to install, e.g. v0.1.0)"
[ -n "${MMBUILD_SHA256SUMS:-}" ] || mmbuild_install_fail "MMBUILD_SHA256SUMS is not set (the sha256 of the release's SHA256SUMS file, from its release notes)"
MMBUILD_RELEASE_URL="${MMBUILD_RELEASE_URL:-https://github.com/mmbuild/mmbuild/releases/download/$MMBUILD_VERSION}"
MMBUILD_RELEASE_URL="${MMBUILD_RELEASE_URL%/}"
MMBUILD_INSTALL_DIR="${MMBUILD_INSTALL_DIR:-${RUNNER_TOOL_CACHE:-$HOME/.cache}/mmbuild/$MMBUILD_VERSION}"
mmbuild_os=$(uname -s | tr '[:upper:]' '[:lower:]')
case "$(uname -m)" in
x86_64 | amd64) mmbuild_arch=amd64 ;;
aarch64 | arm64) mmbuild_arch=arm64 ;;
*) mmbuild_arch=$(uname -m) ;;
esac
mmbuild_bin="$MMBUILD_INSTALL_DIR/bin"
(umask 022 && mkdir -p "$mmbuild_bin") || mmbuild_install_fail "cannot create $mmbuild_bin"
chmod 0755 "$MMBUILD_INSTALL_DIR" "$mmbuild_bin" || mmbuild_install_fail "cannot set the mode of $mmbuild_bin"
mmbuild_sums="$mmbuild_bin/.SHA256SUMS.download"
mmbuild_fetch SHA256SUMS "$mmbuild_sums" || mmbuild_install_fail "cannot fetch $MMBUILD_RELEASE_URL/SHA256SUMS"
mmbuild_got=$(mmbuild_sha256 "$mmbuild_sums")
[ "$mmbuild_got" = "$MMBUILD_SHA256SUMS" ] || mmbuild_install_fail "$MMBUILD_RELEASE_URL/SHA256SUMS has sha256 $mmbuild_got, the pin MMBUILD_SHA256SUMS is $MMBUILD_SHA256SUMS"
mmbuild_count=0
# The last line counts without its newline too.
while read -r mmbuild_sum mmbuild_file || [ -n "$mmbuild_sum" ]; do
	mmbuild_file="${mmbuild_file#\*}"
	case "$mmbuild_file" in
	*_"${mmbuild_os}_${mmbuild_arch}") ;;
	*) continue ;;
	esac
	mmbuild_name="${mmbuild_file%_"${mmbuild_os}_${mmbuild_arch}"}"
	case "$mmbuild_name" in
	mmbuild | mmbuild-plugin-*) ;;
	*) mmbuild_install_fail "SHA256SUMS names $mmbuild_file: not mmbuild or a plugin" ;;
	esac
	mmbuild_count=$((mmbuild_count + 1))
	if [ -f "$mmbuild_bin/$mmbuild_name" ] && [ "$(mmbuild_sha256 "$mmbuild_bin/$mmbuild_name")" = "$mmbuild_sum" ]; then
		echo "mmbuild install: $mmbuild_name $MMBUILD_VERSION already in $mmbuild_bin"
		continue
	fi
	mmbuild_partial="$mmbuild_bin/.$mmbuild_name.download"
	mmbuild_fetch "$mmbuild_file" "$mmbuild_partial" || mmbuild_install_fail "cannot fetch $MMBUILD_RELEASE_URL/$mmbuild_file"
	mmbuild_got=$(mmbuild_sha256 "$mmbuild_partial")
	[ "$mmbuild_got" = "$mmbuild_sum" ] ||
		mmbuild_install_fail "$MMBUILD_RELEASE_URL/$mmbuild_file has sha256 $mmbuild_got, SHA256SUMS says $mmbuild_sum"
	chmod 0755 "$mmbuild_partial" && mv -f "$mmbuild_partial" "$mmbuild_bin/$mmbuild_name" ||
		mmbuild_install_fail "cannot install $mmbuild_bin/$mmbuild_name"
	mmbuild_partial=""
	echo "mmbuild install: $mmbuild_name $MMBUILD_VERSION sha256:$mmbuild_sum"
done <"$mmbuild_sums"
rm -f "$mmbuild_sums"
[ "$mmbuild_count" -gt 0 ] || mmbuild_install_fail "release $MMBUILD_VERSION has no binaries for ${mmbuild_os}_${mmbuild_arch}"
[ -x "$mmbuild_bin/mmbuild" ] || mmbuild_install_fail "release $MMBUILD_VERSION has no mmbuild_${mmbuild_os}_${mmbuild_arch}"
PATH="$mmbuild_bin:$PATH"
export PATH
if [ -n "${GITHUB_PATH:-}" ]; then
	echo "$mmbuild_bin" >>"$GITHUB_PATH"
fi
echo "mmbuild install: $("$mmbuild_bin/mmbuild" version) in $mmbuild_bin"
