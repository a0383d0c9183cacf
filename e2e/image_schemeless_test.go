package e2e

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/internal/testservers"
)

// The original format names images without a scheme
// (images: ["registry/org/app:tag"]): the reference is served by the
// plugin that announces it serves images (storage:images), so the core
// names no scheme. The image becomes a subject by its manifest digest and
// gets the attestation attached, as with oci://.
func TestImageWithoutScheme(t *testing.T) {
	t.Parallel()
	reg := testservers.StartRegistry(t)
	in := imageInstall(t, reg.Host)
	digest := reg.PushImage(t, "plain/app", "v1", map[string]string{"app.txt": "the image\n"})
	dir := engineProject(t, map[string]string{
		".gitignore": "/dist/\n/out/\n/build.env\n",
		"Makefile":   "all:\n\t@mkdir -p dist\n\techo built > dist/x.txt\n",
		"mmbuild.yaml": "handler: {id: make, params: [all]}\n" +
			"artifacts:\n  files: [dist/x.txt]\n  images: ['" + reg.Host + "/plain/app:v1']\nprovenance: out/\n",
	})
	engineMustRun(t, in, dir, "plugins", "lock")
	engineMustRun(t, in, dir, "validate")
	key, _ := signingKey(t, in, dir)
	engineMustRun(t, in, dir, "run", "--sign-key", key)

	st := engineReadStatement(t, filepath.Join(dir, "out/provenance.json"))
	found := false
	for _, s := range st.Subject {
		found = found || s.Name == reg.Host+"/plain/app" && s.Digest["sha256"] == strings.TrimPrefix(digest, "sha256:")
	}
	if !found {
		t.Errorf("no subject %s/plain/app with the image's digest %s: %+v", reg.Host, digest, st.Subject)
	}
	if got := referrers(t, reg.Host, "plain/app", digest); len(got) == 0 {
		t.Error("the attestation was not attached to the image")
	}

	// A host that is no registry host is refused, not guessed (Docker Hub).
	writeFiles(t, dir, map[string]string{"mmbuild.yaml": strings.Replace(string(mustRead(t, filepath.Join(dir, "mmbuild.yaml"))), reg.Host+"/plain/app:v1", "plain/app:v1", 1)})
	engineMustFail(t, in, dir, []string{"run", "--sign-key", key}, "artifacts.images[0]", `"plain/app:v1" names no registry host`)
}
