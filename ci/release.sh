#!/bin/sh
# Lays out a release of mmbuild, the way ci/install.sh reads one: the
# binaries in BINDIR (mmbuild and mmbuild-plugin-*, built for GOOS/GOARCH,
# default: go env's) copied into OUTDIR as NAME_OS_ARCH, and OUTDIR/SHA256SUMS
# written anew over every binary in OUTDIR (run it once a platform). The last
# line printed is the pin the CI templates need: MMBUILD_SHA256SUMS.
#
#   make install PREFIX=/tmp/mm && ci/release.sh /tmp/mm/bin dist/release/v0.1.0
set -eu
[ $# -eq 2 ] || { echo "usage: ci/release.sh BINDIR OUTDIR" >&2; exit 2; }
bindir=$1 outdir=$2
os=${GOOS:-$(go env GOOS)} arch=${GOARCH:-$(go env GOARCH)}
[ -x "$bindir/mmbuild" ] || { echo "ci/release.sh: no mmbuild in $bindir" >&2; exit 1; }
mkdir -p "$outdir"
for f in "$bindir"/mmbuild "$bindir"/mmbuild-plugin-*; do
	[ -f "$f" ] || continue
	cp "$f" "$outdir/$(basename "$f")_${os}_${arch}"
	chmod 0755 "$outdir/$(basename "$f")_${os}_${arch}"
done
(cd "$outdir" && for f in mmbuild*_*_*; do sha256sum "$f"; done >SHA256SUMS.tmp && mv SHA256SUMS.tmp SHA256SUMS)
echo "MMBUILD_SHA256SUMS=$(sha256sum "$outdir/SHA256SUMS" | cut -d' ' -f1)"
