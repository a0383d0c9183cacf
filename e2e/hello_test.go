package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	intoto "github.com/in-toto/in-toto-golang/in_toto"
	slsa "github.com/in-toto/in-toto-golang/in_toto/slsa_provenance/v0.2"

	"github.com/mmbuild/mmbuild/internal/testenv"
)

// The README's example, end to end: lock, run, and check the attestation
// with in-toto-golang's own types against sha256sum of the artifact.
func TestHelloEndToEnd(t *testing.T) {
	in := testenv.NewInstall(t)
	dir := testenv.Example(t, "hello")
	in.MustRun(dir, "plugins", "lock")
	list := in.MustRun(dir, "plugins", "list", "--strict", "--json")
	var audit struct {
		OK      bool `json:"ok"`
		Plugins []struct {
			Name, Status string
			Kinds        []string
		} `json:"plugins"`
	}
	if err := json.Unmarshal([]byte(list.Stdout), &audit); err != nil || !audit.OK || len(audit.Plugins) != len(testenv.Plugins) {
		t.Fatalf("plugins list: %v\n%s", err, list.Stdout)
	}

	r := in.MustRun(dir, "run", "--json")
	var rep struct {
		StagingKey  string `json:"staging_key"`
		StagingURL  string `json:"staging_url"`
		Attestation string `json:"attestation"`
		Artifacts   []struct{ Name, SHA256, URL string }
	}
	if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil {
		t.Fatalf("run --json: %v\n%s", err, r.Stdout)
	}
	if !strings.Contains(r.Stderr, "Hello") && !exists(filepath.Join(dir, "build/hello")) {
		t.Fatalf("the example was not built:\n%s", r.Stderr)
	}

	artifact := filepath.Join(dir, "dist/hello.tar.gz")
	out, err := exec.Command("sha256sum", artifact).Output()
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Fields(string(out))[0]

	data, err := os.ReadFile(filepath.Join(dir, "out/provenance.json"))
	if err != nil {
		t.Fatal(err)
	}
	var st intoto.ProvenanceStatementSLSA02
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		t.Fatalf("attestation does not parse into in-toto-golang's types: %v", err)
	}
	if st.Type != intoto.StatementInTotoV01 || st.PredicateType != slsa.PredicateSLSAProvenance {
		t.Fatalf("statement type %q predicate %q", st.Type, st.PredicateType)
	}
	if len(st.Subject) != 1 || st.Subject[0].Name != "hello.tar.gz" || st.Subject[0].Digest["sha256"] != want {
		t.Fatalf("subject %+v, sha256sum says %s", st.Subject, want)
	}
	p := st.Predicate
	if !strings.HasPrefix(p.Builder.ID, "https://") || !strings.HasPrefix(p.BuildType, "https://") {
		t.Errorf("builder id %q / build type %q are not URIs", p.Builder.ID, p.BuildType)
	}
	if p.Metadata == nil || p.Metadata.BuildStartedOn == nil || p.Metadata.BuildFinishedOn == nil ||
		p.Metadata.BuildFinishedOn.Before(*p.Metadata.BuildStartedOn) || p.Metadata.BuildStartedOn.Year() < 2020 {
		t.Errorf("times: %+v", p.Metadata)
	}
	// Materials: the greeting with the digest from the config, and both plugin binaries.
	var sawGreeting, sawMake, sawFile bool
	for _, m := range p.Materials {
		switch {
		case strings.HasSuffix(m.URI, "/materials/greeting.txt"):
			sawGreeting = m.Digest["sha256"] == sha256Hex(t, mustRead(t, filepath.Join(dir, "materials/greeting.txt")))
		case strings.HasPrefix(m.URI, "mmbuild-plugin:make@"):
			sawMake = m.Digest["sha256"] == sha256Hex(t, mustRead(t, filepath.Join(in.BinDir, "mmbuild-plugin-make")))
		case strings.HasPrefix(m.URI, "mmbuild-plugin:file@"):
			sawFile = m.Digest["sha256"] == sha256Hex(t, mustRead(t, filepath.Join(in.BinDir, "mmbuild-plugin-file")))
		}
	}
	if !sawGreeting || !sawMake || !sawFile {
		t.Errorf("materials incomplete (greeting %v, make %v, file %v): %+v", sawGreeting, sawMake, sawFile, p.Materials)
	}

	// Published: the artifact and the attestation under the staging key.
	pub := strings.TrimPrefix(rep.StagingURL, "file://")
	if got := sha256Hex(t, mustRead(t, filepath.Join(pub, "hello.tar.gz"))); got != want {
		t.Errorf("published artifact sha256 %s, want %s", got, want)
	}
	if string(mustRead(t, filepath.Join(pub, "provenance.json"))) != string(data) {
		t.Error("published attestation differs from the local copy")
	}
	env := string(mustRead(t, filepath.Join(dir, "build.env")))
	if !strings.Contains(env, "MMBUILD_STAGING_PATH="+rep.StagingKey+"\n") || !strings.Contains(env, "MMBUILD_STAGING_URL="+rep.StagingURL+"\n") {
		t.Errorf("build.env:\n%s", env)
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
