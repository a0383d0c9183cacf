package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/internal/testenv"
	"github.com/mmbuild/mmbuild/internal/testservers"
)

// The layout form of artifacts.images (examples/image-layout): make writes
// an OCI image layout, mmbuild computes its manifest digest, attests it,
// pushes the layout through the oci:// plugin when publishing, and
// attaches the signed attestation; cosign verifies it on the registry.
func TestImageLayoutExample(t *testing.T) {
	cosign := testservers.Tool(t, "cosign")
	reg := testservers.StartRegistry(t)
	in := imageInstall(t, reg.Host)
	dir := testenv.Example(t, "image-layout")
	engineCommitAll(t, dir, "image layout")
	engineMustRun(t, in, dir, "plugins", "lock")
	key, pub := signingKey(t, in, dir)
	engineMustRun(t, in, dir, "run", "--sign-key", key)

	digest := manifestDigest(t, reg.Host, "example/layout", "v1")
	index := string(mustRead(t, filepath.Join(dir, "dist/image/index.json")))
	if !strings.HasPrefix(digest, "sha256:") || !strings.Contains(index, digest) {
		t.Fatalf("the registry has %q, the layout's index.json says %s", digest, index)
	}
	st := engineReadStatement(t, filepath.Join(dir, "out/provenance.json"))
	found := false
	for _, s := range st.Subject {
		found = found || (s.Name == reg.Host+"/example/layout" && "sha256:"+s.Digest["sha256"] == digest)
	}
	if !found {
		t.Fatalf("no subject %s/example/layout with %s: %+v", reg.Host, digest, st.Subject)
	}
	out, ok := cosignVerify(t, cosign, pub, reg.Host+"/example/layout:v1")
	t.Logf("cosign verify-attestation:\n%s", out)
	if !ok {
		t.Fatal("cosign refused the attestation of the pushed layout")
	}
}

// A layout that is not one, or holds two images, is refused with one line
// at its position before anything is signed or pushed.
func TestImageLayoutBadInput(t *testing.T) {
	t.Parallel()
	reg := testservers.StartRegistry(t)
	in := imageInstall(t, reg.Host)
	for _, tc := range []struct{ name, mangle, want string }{
		{"not a layout", "rm dist/image/oci-layout", "is not an OCI image layout"},
		{"two manifests", `sed -i 's/"manifests":\[\(.*\)\]}/"manifests":[\1,\1]}/' dist/image/index.json`, "names 2 manifests"},
		{"a manifest blob that lies", `for f in dist/image/blobs/sha256/*; do if grep -q schemaVersion "$$f" && grep -q layers "$$f"; then printf ' ' >> "$$f"; fi; done`, "hashes to"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := testenv.Example(t, "image-layout")
			mk := filepath.Join(dir, "Makefile")
			data, err := os.ReadFile(mk)
			if err != nil {
				t.Fatal(err)
			}
			data = []byte(strings.Replace(string(data), "\t./mklayout.sh dist/layer.tar dist/image\n", "\t./mklayout.sh dist/layer.tar dist/image\n\t"+tc.mangle+"\n", 1))
			if err := os.WriteFile(mk, data, 0o644); err != nil {
				t.Fatal(err)
			}
			engineMustRun(t, in, dir, "plugins", "lock")
			key, _ := signingKey(t, in, dir)
			r := in.Run(dir, "run", "--sign-key", key)
			if r.Code == 0 {
				t.Fatalf("the run passed:\n%s", r.Stderr)
			}
			if line := errorLine(t, r); !strings.Contains(line, tc.want) || !strings.Contains(line, "artifacts.images[0].layout") {
				t.Fatalf("error line %q, want %q", line, tc.want)
			}
			if d := manifestDigest(t, reg.Host, "example/layout", "v1"); d != "" {
				t.Fatalf("the image was pushed (%s) though the run failed", d)
			}
			if exists(filepath.Join(dir, "out", "provenance.json")) {
				t.Fatal("an attestation was written")
			}
		})
	}
}
