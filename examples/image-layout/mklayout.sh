#!/bin/sh
# mklayout.sh LAYER DIR: writes DIR, an OCI image layout holding one image
# whose one layer is the tarball LAYER (uncompressed), on an empty config.
# Plain sh and sha256sum: the builder needs no registry and no tool.
set -eu
layer=$1 dir=$2
rm -rf "$dir"
mkdir -p "$dir/blobs/sha256"
sum() { sha256sum "$1" | cut -d' ' -f1; }
size() { wc -c < "$1" | tr -d ' '; }
blob() { # blob FILE: moves FILE into the blobs, prints its digest
	d=$(sum "$1"); mv "$1" "$dir/blobs/sha256/$d"; echo "$d"
}
cp "$layer" "$dir/layer.tmp"
lsize=$(size "$dir/layer.tmp"); l=$(blob "$dir/layer.tmp")
printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"config":{}}' "$l" > "$dir/config.tmp"
csize=$(size "$dir/config.tmp"); c=$(blob "$dir/config.tmp")
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
	"$c" "$csize" "$l" "$lsize" > "$dir/manifest.tmp"
msize=$(size "$dir/manifest.tmp"); m=$(blob "$dir/manifest.tmp")
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s}]}' "$m" "$msize" > "$dir/index.json"
printf '{"imageLayoutVersion":"1.0.0"}' > "$dir/oci-layout"
