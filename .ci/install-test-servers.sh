#!/usr/bin/env bash
# Installs the real servers the tests start on loopback, at pinned versions,
# into $(go env GOPATH)/bin. Idempotent: a binary already built from the
# pinned version is kept. Building from the Go module proxy takes minutes
# on a fresh machine (versitygw ~4 min, rclone ~8 min on 2 cores).
#
#   .ci/install-test-servers.sh          versitygw (S3), cosign v2 (as cosign) and
#                                        cosign v3 (as cosign3): interop of our
#                                        signed attestations; the distribution
#                                        registry (OCI) and crane; gitlab-ci-local
#                                        (npm) and rsync (apt) for the GitLab
#                                        template's pipeline test; for `make test`
#   .ci/install-test-servers.sh --bench  also rclone, for `make bench`
set -euo pipefail

# Keep in step with internal/testservers (VersityGWVersion; a test checks).
VERSITYGW_VERSION=v1.8.0
RCLONE_VERSION=v1.76.0
COSIGN_VERSION=v2.6.5
# Keep in step with internal/testservers (GitLabCILocalVersion): the last
# release that runs on Node 20.
GITLAB_CI_LOCAL_VERSION=4.62.0
# Keep in step with internal/testservers (DistributionVersion, CraneVersion).
DISTRIBUTION_VERSION=v3.1.2
CRANE_VERSION=v0.22.1
COSIGN3_VERSION=v3.1.3

gobin="$(go env GOPATH | cut -d: -f1)/bin"

# install MODULE_PATH PACKAGE VERSION BINARY
install() {
	local mod=$1 pkg=$2 version=$3 bin=$4
	if [ -x "$gobin/$bin" ] && go version -m "$gobin/$bin" 2>/dev/null |
		awk -v m="$mod" -v v="$version" '$1 == "mod" && $2 == m && $3 == v { found = 1 } END { exit !found }'; then
		echo "$bin $version: already installed in $gobin"
		return
	fi
	echo "installing $bin $version into $gobin (go install from the module proxy)"
	local start=$SECONDS
	# Built in a folder of its own, then moved: two major versions of one
	# tool (cosign v2 and v3) are both named after their package.
	local tmp
	tmp=$(mktemp -d)
	GOBIN="$tmp" GOFLAGS=-buildvcs=false go install "$pkg@$version"
	mv "$tmp/$(basename "$pkg")" "$gobin/$bin"
	rmdir "$tmp"
	echo "$bin $version: built in $((SECONDS - start))s"
}

install github.com/versity/versitygw github.com/versity/versitygw/cmd/versitygw "$VERSITYGW_VERSION" versitygw

# gitlab-ci-local runs the GitLab template's pipeline test (a GitLab runner
# emulation, from npm, into the same bin folder); it copies each job's
# repository with rsync.
if ! command -v rsync >/dev/null 2>&1; then
	echo "installing rsync (apt)"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rsync
fi
if ! command -v npm >/dev/null 2>&1; then
	echo "installing npm (apt)"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm
fi
if [ "$("$gobin/gitlab-ci-local" --version 2>/dev/null)" = "$GITLAB_CI_LOCAL_VERSION" ]; then
	echo "gitlab-ci-local $GITLAB_CI_LOCAL_VERSION: already installed in $gobin"
else
	echo "installing gitlab-ci-local $GITLAB_CI_LOCAL_VERSION into $gobin (npm)"
	npm install -g --prefix "$(dirname "$gobin")" --no-fund --no-audit --loglevel=error "gitlab-ci-local@$GITLAB_CI_LOCAL_VERSION"
fi
install github.com/sigstore/cosign/v2 github.com/sigstore/cosign/v2/cmd/cosign "$COSIGN_VERSION" cosign
install github.com/distribution/distribution/v3 github.com/distribution/distribution/v3/cmd/registry "$DISTRIBUTION_VERSION" registry
install github.com/google/go-containerregistry github.com/google/go-containerregistry/cmd/crane "$CRANE_VERSION" crane
install github.com/sigstore/cosign/v3 github.com/sigstore/cosign/v3/cmd/cosign "$COSIGN3_VERSION" cosign3
if [ "${1:-}" = "--bench" ]; then
	install github.com/rclone/rclone github.com/rclone/rclone "$RCLONE_VERSION" rclone
fi
