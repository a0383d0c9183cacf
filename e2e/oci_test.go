package e2e

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/internal/testenv"
	"github.com/mmbuild/mmbuild/internal/testservers"
)

// ociProject is a project whose credentials for the registry at host come
// from the secret REG_PASSWORD (the environment variable E2E_REG_PASSWORD),
// the account's name as a plain option; what a run writes is ignored by git.
func ociProject(t *testing.T, host, user, makefile, body string) string {
	t.Helper()
	return engineProject(t, map[string]string{
		".gitignore": "/dist/\n/out/\n/build.env\n",
		"Makefile":   makefile,
		"mmbuild.yaml": "handler: {id: make, params: [all]}\n" +
			"secrets: [{name: REG_PASSWORD, from: env://E2E_REG_PASSWORD}]\n" +
			"credentials:\n  - url: oci://" + host + "/\n    secrets: {password: REG_PASSWORD}\n    options: {username: " + user + "}\n" +
			body + "provenance: out/\n",
	})
}

// An image in a registry is a build's material, fetched as an OCI image
// layout through mmbuild-plugin-oci; the build's artifacts and attestation
// go to the same registry as objects under the staging URL, from where a
// second build takes an artifact as its material, and a second run of the
// first finds its cached build there. The registry needs an account, which
// only the credentials: entry gives.
func TestOCIImageMaterialAndDestination(t *testing.T) {
	t.Parallel()
	in := testenv.NewInstall(t)
	reg := testservers.StartRegistry(t, testservers.WithRegistryAuth())
	digest := reg.PushImage(t, "base/image", "v1", map[string]string{"etc/base.txt": "base layer\n"})
	in.Env = append(in.Env, "E2E_REG_PASSWORD="+reg.Password)

	image := "oci://" + reg.Host + "/base/image:v1"
	first := ociProject(t, reg.Host, reg.Username,
		"all:\n\t@mkdir -p dist\n"+
			"\tcp $(MMBUILD_MATERIALS_DIR)/image/index.json dist/index.json\n"+
			"\tls $(MMBUILD_MATERIALS_DIR)/image/blobs/sha256 > dist/blobs.txt\n",
		"materials: [{uri: '"+image+"'}]\n"+
			"artifacts:\n  destination: oci://"+reg.Host+"/team/builds//first\n  files: [dist/index.json, dist/blobs.txt]\n")
	engineMustRun(t, in, first, "plugins", "lock")
	engineCommitAll(t, first, "initial") // a committed source: the build can be cached
	rep, r := engineRunJSON(t, in, first)

	// The builder saw the layout of the image the tag named.
	var index struct {
		Manifests []struct{ Digest string }
	}
	if err := json.Unmarshal(mustRead(t, filepath.Join(first, "dist/index.json")), &index); err != nil || len(index.Manifests) != 1 || index.Manifests[0].Digest != digest {
		t.Fatalf("index.json in the materials: %+v (%v), want the pushed image %s", index, err, digest)
	}
	if blobs := string(mustRead(t, filepath.Join(first, "dist/blobs.txt"))); !strings.Contains(blobs, strings.TrimPrefix(digest, "sha256:")) || strings.Count(blobs, "\n") != 3 {
		t.Errorf("blobs of the layout: %q, want the manifest, the config and the layer", blobs)
	}
	st := engineReadStatement(t, filepath.Join(first, "out/provenance.json"))
	if d, ok := st.material(image); !ok || len(d["sha256"]) != 64 {
		t.Errorf("the image material is not recorded with its sha256: %+v", st.Predicate.Materials)
	}
	if !strings.HasPrefix(rep.StagingURL, "oci://"+reg.Host+"/team/builds//first/") || len(rep.Artifacts) != 2 {
		t.Fatalf("report: %+v", rep)
	}

	// A second run finds the complete build at the destination.
	again, _ := engineRunJSON(t, in, first)
	if !again.Cached || again.StagingKey != rep.StagingKey {
		t.Errorf("second run: cached %v key %s, want the cached build %s", again.Cached, again.StagingKey, rep.StagingKey)
	}

	// The next build of a pipeline takes the published artifact.
	second := ociProject(t, reg.Host, reg.Username,
		"all:\n\t@mkdir -p dist\n\tcp $(MMBUILD_MATERIALS_DIR)/index.json dist/upstream-index.json\n",
		"materials: [{uri: '"+rep.StagingURL+"/index.json'}]\nartifacts: {files: [dist/upstream-index.json]}\n")
	engineMustRun(t, in, second, "plugins", "lock")
	r2 := engineMustRun(t, in, second, "run")
	if got, want := string(mustRead(t, filepath.Join(second, "dist/upstream-index.json"))), string(mustRead(t, filepath.Join(first, "dist/index.json"))); got != want {
		t.Errorf("the second build got %q, want the first build's artifact %q", got, want)
	}
	if raw := string(mustRead(t, filepath.Join(first, "out/provenance.json"))); strings.Contains(r.Stdout+r.Stderr+r2.Stdout+r2.Stderr+raw, reg.Password) {
		t.Error("the registry password leaked")
	}

	// A wrong password: one clear error, naming the refusal, not the password.
	in.Env = append(in.Env, "E2E_REG_PASSWORD=wrong-registry-password-77")
	line := engineMustFail(t, in, first, []string{"run", "--force"}, image, "UNAUTHORIZED")
	t.Logf("with a wrong password: %s", line)
	if strings.Contains(line, "wrong-registry-password-77") {
		t.Errorf("the error shows the password: %s", line)
	}
}
