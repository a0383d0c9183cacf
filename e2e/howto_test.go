package e2e

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/internal/testenv"
	"github.com/mmbuild/mmbuild/internal/testservers"
)

// howtoConfig is the basic configuration of the original Mattermost build
// system's docs/builds.HOWTO.md ("Here is an example, basic configuration
// file"), copied verbatim, indentation and all.
const howtoConfig = `---
runner:
    id: make
    params: ["compile"]
provenance: /tmp/slsa/
artifacts:
  destination: s3://mattermost-development-test/build-test/
  files: ["binary"]
env:
  - var: SHA_COMMIT
  - var: SHA_COMMIT_WITH_VAL
    value: b739074e0260def700eb13b2aa6091cae9366327
materials:
  - uri: s3://mattermost-development-test/materials/add-on.tar.gz
`

// howtoBucket replaces the HOWTO's bucket: a name that is plainly a test's,
// so that a misdirected endpoint can never touch the real one.
const howtoBucket = "mmbuild-howto-test"

// The HOWTO's make target: "make compile" must produce the file binary;
// the material is in $MMBUILD_MATERIALS_DIR under its base name.
const howtoMakefile = `compile:
	tar -xzf $(MMBUILD_MATERIALS_DIR)/add-on.tar.gz
	printf '%s %s %s\n' "$$SHA_COMMIT" "$$SHA_COMMIT_WITH_VAL" "$$(cat add-on.txt)" > binary
`

// howtoReplace applies one replacement that must match exactly once.
func howtoReplace(t *testing.T, s, old, repl string) string {
	t.Helper()
	if n := strings.Count(s, old); n != 1 {
		t.Fatalf("the HOWTO config holds %q %d times, want once", old, n)
	}
	return strings.Replace(s, old, repl, 1)
}

// The original HOWTO's basic config runs unchanged apart from its bucket
// name: runner:, an absolute provenance: folder, a passthrough env entry
// beside a hard-coded one, and a material without a digest, from and to a
// real S3 server.
func TestHOWTOBasicConfig(t *testing.T) {
	in := testenv.NewInstall(t)
	s3 := testservers.StartS3(t)
	s3.CreateBucket(t, howtoBucket)
	for k, v := range s3.Env() {
		in.Env = append(in.Env, k+"="+v)
	}
	in.Env = append(in.Env, "SHA_COMMIT=0123456789abcdef0123456789abcdef01234567")

	config := howtoReplace(t, howtoConfig, "mattermost-development-test/build-test/", howtoBucket+"/build-test/")
	config = howtoReplace(t, config, "mattermost-development-test/materials/", howtoBucket+"/materials/")
	// /tmp/slsa/ itself is not used: on a machine others share, anyone
	// may own or plant that folder, and parallel tests would write into
	// each other's. An absolute folder of the test's own stands in for it.
	slsa := filepath.Join(t.TempDir(), "slsa") + "/"
	config = howtoReplace(t, config, "provenance: /tmp/slsa/\n", "provenance: "+slsa+"\n")

	addOn := tarGz(t, map[string]string{"add-on.txt": "add-on v1"})
	writeFiles(t, s3.Dir, map[string]string{howtoBucket + "/materials/add-on.tar.gz": string(addOn)})
	dir := engineProject(t, map[string]string{"matterbuild.yaml": config, "Makefile": howtoMakefile})
	engineMustRun(t, in, dir, "plugins", "lock")
	engineMustRun(t, in, dir, "validate")
	// The original CLI, as the HOWTO invokes it: mmbuild build -w DIR.
	r := engineMustRun(t, in, filepath.Dir(dir), "build", "-w", filepath.Base(dir), "--conf", filepath.Join(filepath.Base(dir), "matterbuild.yaml"))

	want := "0123456789abcdef0123456789abcdef01234567 b739074e0260def700eb13b2aa6091cae9366327 add-on v1\n"
	if got := string(mustRead(t, filepath.Join(dir, "binary"))); got != want {
		t.Fatalf("binary = %q, want %q\n%s", got, want, r.Stderr)
	}
	st := engineReadStatement(t, filepath.Join(slsa, "provenance.json"))
	d, ok := st.material("s3://" + howtoBucket + "/materials/add-on.tar.gz")
	if !ok || d["sha256"] != sha256Hex(t, addOn) {
		t.Errorf("the material without a digest is recorded as %v (found %v), want the sha256 of the fetched bytes %s", d, ok, sha256Hex(t, addOn))
	}
	if sd, ok := st.subject("binary"); !ok || sd["sha256"] != sha256Hex(t, []byte(want)) {
		t.Errorf("subject binary: %v (found %v)", sd, ok)
	}
	env := st.Predicate.Invocation.Environment
	if env["SHA_COMMIT"] != "0123456789abcdef0123456789abcdef01234567" || env["SHA_COMMIT_WITH_VAL"] != "b739074e0260def700eb13b2aa6091cae9366327" {
		t.Errorf("attested environment: %v", env)
	}

	// build.env names the staging URL in the bucket, where the artifact
	// and the attestation (last) are.
	vars := readDotenv(t, filepath.Join(dir, "build.env"))
	prefix := "s3://" + howtoBucket + "/build-test/"
	url := vars["MMBUILD_STAGING_URL"]
	if !strings.HasPrefix(url, prefix) || vars["MMBUILD_STAGING_PATH"] == "" || !strings.HasSuffix(url, vars["MMBUILD_STAGING_PATH"]) {
		t.Fatalf("build.env: %v", vars)
	}
	published := filepath.Join(s3.Dir, howtoBucket, "build-test", vars["MMBUILD_STAGING_PATH"])
	if got := string(mustRead(t, filepath.Join(published, "binary"))); got != want {
		t.Errorf("published binary = %q", got)
	}
	if !exists(filepath.Join(published, "provenance.json")) {
		t.Error("no attestation published beside the artifact")
	}
}
