#!/usr/bin/env bash
# Installs the real servers and tools the tests start, at pinned versions,
# into the repository's own tool folder, .tools/ (git-ignored):
#
#   .tools/<name>@<version>/bin/<name>   one folder per tool and version
#   .tools/bin/<name>                    a link to the pinned one (for PATH)
#
# It depends on nothing the machine happens to have beyond go (and npm for
# gitlab-ci-local): not on $HOME, $GOPATH or a ~/go/bin. A folder keyed by
# version is only ever complete: each tool is built into a temporary folder
# beside it and renamed into place, so an interrupted install leaves no
# half-written tool, and a changed pin installs beside the old one. A tool
# whose folder exists is not rebuilt: the second run takes about a second.
# Tests find tools through internal/testservers (Tool): $MMBUILD_<NAME>,
# else .tools/<name>@<pinned version>/bin/<name>, else $PATH.
#
# The first run builds from the Go module proxy and takes minutes on a fresh
# machine (versitygw ~4 min, rclone ~8 min on 2 cores; the Sigstore stack
# ~7 min: fulcio 98 s, rekor-server 85 s, timestamp-server 129 s, local-kms
# 41 s, tesseract 83 s, measured with cosign's modules already in the module
# cache).
#
#   .ci/install-test-servers.sh          versitygw (S3), cosign v2 (as cosign) and
#                                        cosign v3 (as cosign3): interop of our
#                                        signed attestations; the distribution
#                                        registry (OCI) and crane; gitlab-ci-local
#                                        (npm) for the GitLab template's pipeline
#                                        test; Fulcio, Rekor v2, the timestamp
#                                        authority, TesseraCT and local-kms (a
#                                        local Sigstore stack, awskms://); for
#                                        `make test`
#   .ci/install-test-servers.sh --bench  also rclone, for `make bench`
#
# MMBUILD_TOOLS=DIR installs into DIR instead of .tools.
set -euo pipefail

# Keep in step with internal/testservers (a test checks every pin):
# <NAME>_VERSION for the tool <name>.
VERSITYGW_VERSION=v1.8.0
RCLONE_VERSION=v1.76.0
COSIGN_VERSION=v2.6.5
COSIGN3_VERSION=v3.1.3
# The last gitlab-ci-local release that runs on Node 20.
GITLAB_CI_LOCAL_VERSION=4.62.0
REGISTRY_VERSION=v3.1.2
CRANE_VERSION=v0.22.1
# The Mermaid CLI (npm @mermaid-js/mermaid-cli) validates mmbuild graph's
# Mermaid; it drives the apt chromium, not a browser of its own.
MMDC_VERSION=11.17.0
# The local Sigstore stack (internal/testservers StartSigstore): Fulcio,
# Rekor v2 (rekor-tiles' POSIX server, installed as rekor-server) and the
# timestamp authority; and local-kms behind TLS for awskms:// (StartLocalKMS).
# local-kms has no releases in the module proxy: a pseudo-version pins it.
FULCIO_VERSION=v1.8.8
REKOR_SERVER_VERSION=v2.3.0
TIMESTAMP_SERVER_VERSION=v2.1.3
LOCAL_KMS_VERSION=v0.0.0-20260228092603-2a5e92d09ab6
# TesseraCT's POSIX server: the stack's CT log, when a test asks for one.
TESSERACT_VERSION=v0.1.1

root=$(cd "$(dirname "$0")/.." && pwd)
tools=${MMBUILD_TOOLS:-$root/.tools}
mkdir -p "$tools/bin"
tools=$(cd "$tools" && pwd)

# fresh NAME VERSION: an empty temporary folder beside the tool's final one.
fresh() {
	local tmp="$tools/.$1@$2.partial"
	rm -rf "$tmp"
	mkdir -p "$tmp/bin"
	echo "$tmp"
}

# place NAME VERSION TMP: TMP becomes .tools/NAME@VERSION, linked from .tools/bin.
place() {
	local name=$1 version=$2 tmp=$3
	rm -rf "$tools/$name@$version"
	mv "$tmp" "$tools/$name@$version"
	link "$name" "$version"
}

# link NAME VERSION: .tools/bin/NAME points at the pinned version.
link() {
	ln -sfn "../$1@$2/bin/$1" "$tools/bin/$1"
}

# installed NAME VERSION: whether that version's folder is complete.
installed() {
	if [ -x "$tools/$1@$2/bin/$1" ]; then
		link "$1" "$2"
		echo "$1 $2: already installed in $tools"
		return 0
	fi
	return 1
}

# gotool NAME PACKAGE VERSION: go install PACKAGE@VERSION as NAME.
gotool() {
	local name=$1 pkg=$2 version=$3
	installed "$name" "$version" && return
	echo "installing $name $version into $tools (go install from the module proxy)"
	local start=$SECONDS tmp
	tmp=$(fresh "$name" "$version")
	# Built into a folder of its own and renamed: two major versions of one
	# tool (cosign v2 and v3) are both named after their package.
	GOBIN="$tmp/bin" GOFLAGS=-buildvcs=false go install "$pkg@$version"
	if [ "$(basename "$pkg")" != "$name" ]; then
		mv "$tmp/bin/$(basename "$pkg")" "$tmp/bin/$name"
	fi
	place "$name" "$version" "$tmp"
	echo "$name $version: built in $((SECONDS - start))s"
}

# npmtool NAME VERSION [PACKAGE]: npm install -g PACKAGE@VERSION (PACKAGE
# defaults to NAME, the program's name) with its own prefix.
npmtool() {
	local name=$1 version=$2 pkg=${3:-$1}
	installed "$name" "$version" && return
	if ! command -v npm >/dev/null 2>&1; then
		echo "install-test-servers: $name needs npm, which is not installed (apt-get install nodejs npm; .ci/run does)" >&2
		exit 1
	fi
	echo "installing $name $version into $tools (npm)"
	local start=$SECONDS tmp
	tmp=$(fresh "$name" "$version")
	# npm's cache goes into the temporary folder: nothing in $HOME.
	# No browser download: the tests point puppeteer at the apt chromium.
	PUPPETEER_SKIP_DOWNLOAD=1 npm install -g --prefix "$tmp" --cache "$tmp/.npm-cache" --no-fund --no-audit --loglevel=error "$pkg@$version"
	rm -rf "$tmp/.npm-cache"
	# The bin link npm makes is relative, so the renamed folder keeps working.
	if [ "$("$tmp/bin/$name" --version)" != "$version" ]; then
		echo "install-test-servers: npm installed $name $("$tmp/bin/$name" --version), not $version" >&2
		exit 1
	fi
	place "$name" "$version" "$tmp"
	echo "$name $version: installed in $((SECONDS - start))s"
}

gotool versitygw github.com/versity/versitygw/cmd/versitygw "$VERSITYGW_VERSION"
# gitlab-ci-local runs the GitLab template's pipeline test (a GitLab runner
# emulation); it copies each job's repository with rsync (.ci/run installs it).
npmtool gitlab-ci-local "$GITLAB_CI_LOCAL_VERSION"
npmtool mmdc "$MMDC_VERSION" @mermaid-js/mermaid-cli
gotool cosign github.com/sigstore/cosign/v2/cmd/cosign "$COSIGN_VERSION"
gotool registry github.com/distribution/distribution/v3/cmd/registry "$REGISTRY_VERSION"
gotool crane github.com/google/go-containerregistry/cmd/crane "$CRANE_VERSION"
gotool cosign3 github.com/sigstore/cosign/v3/cmd/cosign "$COSIGN3_VERSION"
gotool fulcio github.com/sigstore/fulcio "$FULCIO_VERSION"
gotool rekor-server github.com/sigstore/rekor-tiles/v2/cmd/rekor-server/posix "$REKOR_SERVER_VERSION"
gotool timestamp-server github.com/sigstore/timestamp-authority/v2/cmd/timestamp-server "$TIMESTAMP_SERVER_VERSION"
gotool local-kms github.com/nsmithuk/local-kms "$LOCAL_KMS_VERSION"
gotool tesseract github.com/transparency-dev/tesseract/cmd/tesseract/posix "$TESSERACT_VERSION"
if [ "${1:-}" = "--bench" ]; then
	gotool rclone github.com/rclone/rclone "$RCLONE_VERSION"
fi
echo "test tools ready in $tools/bin (${SECONDS}s)"
