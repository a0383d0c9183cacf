package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mmbuild/mmbuild/internal/testservers"
)

// attestation: attached on an image material: a build whose base image
// carries a signed provenance attached (by an mmbuild build of it with
// artifacts.images) takes it, by tag (resolved once) or by digest; an image
// with nothing attached, one whose attestation another key signed, and one
// that carries an attestation of another image (attached with cosign) are
// refused with one line before anything is built; attached without keys is
// refused at its position.
func TestImageAttachedUpstream(t *testing.T) {
	t.Parallel()
	cosign := testservers.Tool(t, "cosign")
	reg := testservers.StartRegistry(t)
	in := imageInstall(t, reg.Host)
	base := reg.PushImage(t, "up/base", "v1", map[string]string{"base.txt": "the base image\n"})
	bare := reg.PushImage(t, "up/bare", "v1", map[string]string{"bare.txt": "no provenance\n"})
	other := reg.PushImage(t, "up/other", "v1", map[string]string{"other.txt": "another image\n"})

	// The producer: a build that attests and signs the base image.
	producer := engineProject(t, map[string]string{
		".gitignore": "/dist/\n/out/\n/build.env\n",
		"Makefile":   "all:\n\t@mkdir -p dist\n\techo built > dist/x.txt\n",
		"mmbuild.yaml": "handler: {id: make, params: [all]}\n" +
			"artifacts:\n  files: [dist/x.txt]\n  images: ['oci://" + reg.Host + "/up/base:v1']\nprovenance: out/\n",
	})
	engineMustRun(t, in, producer, "plugins", "lock")
	key, pub := signingKey(t, in, producer)
	_, otherPub := signingKey(t, in, producer)
	engineMustRun(t, in, producer, "run", "--sign-key", key)

	// up/other carries the base image's signed envelope, attached by cosign
	// to its .att tag: signed by the right key, but for another digest.
	envelope := filepath.Join(t.TempDir(), "base.dsse.json")
	line := strings.SplitN(string(mustRead(t, filepath.Join(producer, "out/provenance.intoto.jsonl"))), "\n", 2)[0]
	if err := os.WriteFile(envelope, []byte(line), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	att := exec.CommandContext(ctx, cosign, "attach", "attestation", "--allow-http-registry", "--attestation", envelope, reg.Host+"/up/other@"+other)
	att.Env = append(os.Environ(), "HOME="+t.TempDir(), "DOCKER_CONFIG="+t.TempDir())
	if out, err := att.CombinedOutput(); err != nil {
		t.Fatalf("cosign attach attestation: %v\n%s", err, out)
	}

	consumer := func(t *testing.T, uri, material string) string {
		keys := ""
		if material != "" {
			keys = "\n    keys: ['" + material + "']"
		}
		dir := engineProject(t, map[string]string{
			".gitignore": "/dist/\n/out/\n/build.env\n/built\n",
			"Makefile":   "all:\n\ttouch built\n\t@mkdir -p dist\n\tls $(MMBUILD_MATERIALS_DIR)/*/index.json > dist/x.txt\n",
			"mmbuild.yaml": "handler: {id: make, params: [all]}\n" +
				"materials:\n  - uri: " + uri + "\n    attestation: attached" + keys + "\n" +
				"artifacts:\n  files: [dist/x.txt]\nprovenance: out/\n",
		})
		engineMustRun(t, in, dir, "plugins", "lock")
		return dir
	}

	for name, uri := range map[string]string{"signed by tag": "oci://" + reg.Host + "/up/base:v1", "signed by digest": "oci://" + reg.Host + "/up/base@" + base} {
		t.Run(name, func(t *testing.T) {
			dir := consumer(t, uri, pub)
			r := engineMustRun(t, in, dir, "run")
			if !strings.Contains(r.Stderr, "upstream attestation verified") {
				t.Errorf("no verification logged:\n%s", r.Stderr)
			}
			st := engineReadStatement(t, filepath.Join(dir, "out/provenance.json"))
			if d, ok := st.material(uri); !ok || len(d["sha256"]) != 64 {
				t.Errorf("the image material is not recorded: %+v", st.Predicate.Materials)
			}
		})
	}

	for _, tc := range []struct {
		name, uri, key string
		want           []string
	}{
		{"none attached", "oci://" + reg.Host + "/up/bare:v1", pub, []string{"mmbuild.yaml:3:5: fetching material", "upstream attestation check failed", "no attestation is attached to", "up/bare@" + bare}},
		{"another key", "oci://" + reg.Host + "/up/base:v1", otherPub, []string{"upstream attestation check failed", "none of the 2 attestations attached to", "up/base@" + base, "signature"}},
		{"another image", "oci://" + reg.Host + "/up/other@" + other, pub, []string{"upstream attestation check failed", "none of the 1 attestations attached to", "no subject has the material's sha256 " + strings.TrimPrefix(other, "sha256:")}},
		{"no keys", "oci://" + reg.Host + "/up/base:v1", "", []string{"materials[0].attestation: attached needs keys"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := consumer(t, tc.uri, tc.key)
			line := engineMustFail(t, in, dir, []string{"run"}, tc.want...)
			t.Logf("%s: %s", tc.name, line)
			if exists(filepath.Join(dir, "built")) || exists(filepath.Join(dir, "out/provenance.json")) {
				t.Error("the build ran or its attestation was written")
			}
		})
	}
}
