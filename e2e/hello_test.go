package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	intoto "github.com/in-toto/in-toto-golang/in_toto"
	slsa "github.com/in-toto/in-toto-golang/in_toto/slsa_provenance/v0.2"

	"github.com/mmbuild/mmbuild/internal/testenv"
)

// The README's example, end to end: lock, run, and check the attestation
// with in-toto-golang's own types against sha256sum of the artifact.
func TestHelloEndToEnd(t *testing.T) {
	t.Parallel()
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

// make demo's first build on a new machine: the example runs with the core
// and the local plugin alone (the SBOM cataloger still compiling) and
// writes both SBOMs, of the artifact, source and material; once the
// cataloger is installed and locked, the same build again (--force) lists
// the files inside the tarball, with syft among the tools.
func TestHelloBeforeCataloger(t *testing.T) {
	t.Parallel()
	in := testenv.NewInstall(t)
	dir := testenv.Example(t, "hello")
	aside := t.TempDir()
	for name := range testenv.Plugins {
		if name != "make" && name != "file" {
			bin := "mmbuild-plugin-" + name
			if err := os.Rename(filepath.Join(in.BinDir, bin), filepath.Join(aside, bin)); err != nil {
				t.Fatal(err)
			}
		}
	}
	in.MustRun(dir, "plugins", "lock")
	in.MustRun(dir, "run")
	if files, tools := helloSBOMs(t, dir); len(files) != 0 || strings.Contains(tools, "syft") {
		t.Fatalf("without a cataloger the SBOMs list files %v, tools %s", files, tools)
	}

	syft := "mmbuild-plugin-sbom-syft"
	if err := os.Rename(filepath.Join(aside, syft), filepath.Join(in.BinDir, syft)); err != nil {
		t.Fatal(err)
	}
	in.MustRun(dir, "plugins", "lock")
	in.MustRun(dir, "run", "--force")
	files, tools := helloSBOMs(t, dir)
	if want := []string{"spdx ./hello", "cdx hello"}; !slices.Equal(files, want) || !strings.Contains(tools, "syft") {
		t.Fatalf("with the cataloger locked the SBOMs list files %v (want %v), tools %s", files, want, tools)
	}
}

// helloSBOMs reads the example's two SBOMs: the files they list inside the
// artifact ("spdx PATH", "cdx PATH") and their tools, as one string.
func helloSBOMs(t *testing.T, dir string) (files []string, tools string) {
	t.Helper()
	var spdx struct {
		CreationInfo struct{ Creators []string }
		Files        []struct{ FileName string }
	}
	if err := json.Unmarshal(mustRead(t, filepath.Join(dir, "out/sbom.spdx.json")), &spdx); err != nil {
		t.Fatalf("sbom.spdx.json: %v", err)
	}
	for _, f := range spdx.Files {
		files = append(files, "spdx "+f.FileName)
	}
	type component struct {
		Type, Name, Version string
		Components          []component
	}
	var cdx struct {
		Metadata struct {
			Tools struct{ Components []component }
		}
		Components []component
	}
	if err := json.Unmarshal(mustRead(t, filepath.Join(dir, "out/sbom.cdx.json")), &cdx); err != nil {
		t.Fatalf("sbom.cdx.json: %v", err)
	}
	for _, c := range cdx.Components {
		for _, in := range c.Components {
			if in.Type == "file" {
				files = append(files, "cdx "+in.Name)
			}
		}
	}
	tools = fmt.Sprint(spdx.CreationInfo.Creators, cdx.Metadata.Tools.Components)
	return files, tools
}
