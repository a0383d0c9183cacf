package e2e

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	spdxjson "github.com/spdx/tools-golang/json"

	"github.com/mmbuild/mmbuild/internal/testenv"
)

// trustHello is examples/hello committed to a clean git repository, its
// plugins pinned and a signing key made: the setup of a replayable build.
func trustHello(t *testing.T, in *testenv.Install) (dir, key, pub string) {
	t.Helper()
	dir = testenv.Example(t, "hello")
	engineCommitAll(t, dir, "hello")
	engineMustRun(t, in, dir, "plugins", "lock")
	keys := filepath.Join(t.TempDir(), "keys", "k")
	engineMustRun(t, in, dir, "keys", "generate", "--out", keys)
	return dir, keys + ".key", keys + ".pub"
}

func TestReplayReproducible(t *testing.T) {
	t.Parallel()
	in := testenv.NewInstall(t)
	dir, key, pub := trustHello(t, in)
	engineMustRun(t, in, dir, "run", "--sign-key", key)
	bundle := filepath.Join(dir, "out/provenance.intoto.jsonl")

	r := in.Run(dir, "replay", "--key", pub, "--json", bundle)
	if r.Code != 0 {
		t.Fatalf("replay exit %d\n%s", r.Code, r.Stderr)
	}
	var res struct {
		Reproducible bool
		Signed       bool
		Subjects     []struct {
			Name  string
			Match bool
		}
	}
	if err := json.Unmarshal([]byte(r.Stdout), &res); err != nil {
		t.Fatalf("replay --json: %v\n%s", err, r.Stdout)
	}
	if !res.Reproducible || !res.Signed || len(res.Subjects) != 1 || res.Subjects[0].Name != "hello.tar.gz" || !res.Subjects[0].Match {
		t.Fatalf("replay result %+v", res)
	}
	// The replay built in a clean clone: the project's own outputs are untouched.
	if strings.Contains(r.Stderr, dir+"/build") {
		t.Errorf("the replay built in the project folder:\n%s", r.Stderr)
	}
}

func TestReplayNotReproducible(t *testing.T) {
	in := testenv.NewInstall(t)
	dir := clockProject(t, in, "\techo stable > dist/stable.txt\n")
	r := in.Run(dir, "replay", "--allow-unsigned", filepath.Join(dir, "out/provenance.json"))
	if r.Code != 4 {
		t.Fatalf("replay exit %d, want 4 (not reproducible)\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	if !strings.Contains(r.Stdout, "DIFFERS") || !strings.Contains(r.Stdout, "stamp.txt") {
		t.Errorf("the differing artifact is not named:\n%s", r.Stdout)
	}
	if strings.Contains(r.Stdout, "DIFFERS       stable.txt") {
		t.Errorf("a stable artifact reported as differing:\n%s", r.Stdout)
	}
	if line := errorLine(t, r); !strings.Contains(line, "not reproducible") || !strings.Contains(line, "stamp.txt") {
		t.Errorf("error line: %s", line)
	}
}

// A tampered attestation chooses what runs: replay must refuse it before
// running anything.
func TestReplayRefusesTamperedAttestation(t *testing.T) {
	t.Parallel()
	in := testenv.NewInstall(t)
	dir, key, pub := trustHello(t, in)
	engineMustRun(t, in, dir, "run", "--sign-key", key)
	bundle := mustRead(t, filepath.Join(dir, "out/provenance.intoto.jsonl"))

	var env struct {
		PayloadType string            `json:"payloadType"`
		Payload     string            `json:"payload"`
		Signatures  []json.RawMessage `json:"signatures"`
	}
	// The provenance is the bundle's first line (the SBOMs' follow).
	first, _, _ := bytes.Cut(bytes.TrimSpace(bundle), []byte("\n"))
	if err := json.Unmarshal(first, &env); err != nil {
		t.Fatal(err)
	}
	payload, err := base64.StdEncoding.DecodeString(env.Payload)
	if err != nil {
		t.Fatal(err)
	}
	// The attacker's build: a make target that leaves a marker.
	marker := filepath.Join(t.TempDir(), "pwned")
	evil := strings.Replace(string(payload), `"dist"`, `"dist","`+"EVIL=$(shell touch "+marker+")"+`"`, 1)
	if evil == string(payload) {
		t.Fatal("could not tamper with the payload")
	}
	env.Payload = base64.StdEncoding.EncodeToString([]byte(evil))
	tampered, _ := json.Marshal(env)
	tpath := filepath.Join(t.TempDir(), "tampered.intoto.jsonl")
	if err := os.WriteFile(tpath, append(tampered, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(dir, "build")); err != nil {
		t.Fatal(err)
	}

	r := in.Run(dir, "replay", "--key", pub, tpath)
	if r.Code != 1 {
		t.Fatalf("replay of a tampered attestation exit %d, want 1\n%s", r.Code, r.Stderr)
	}
	if line := errorLine(t, r); !strings.Contains(line, "attestation refused") || !strings.Contains(line, "signature") {
		t.Errorf("error line: %s", line)
	}
	// The unsigned statement is refused too unless --allow-unsigned.
	r = in.Run(dir, "replay", filepath.Join(dir, "out/provenance.json"))
	if r.Code != 1 || !strings.Contains(errorLine(t, r), "--key") {
		t.Errorf("unsigned statement without --allow-unsigned: exit %d %s", r.Code, r.Stderr)
	}
	// A key that did not sign it.
	other := filepath.Join(t.TempDir(), "other")
	engineMustRun(t, in, dir, "keys", "generate", "--out", other)
	if r = in.Run(dir, "replay", "--key", other+".pub", filepath.Join(dir, "out/provenance.intoto.jsonl")); r.Code != 1 {
		t.Errorf("wrong key: exit %d", r.Code)
	}
	if exists(marker) {
		t.Fatal("the tampered attestation ran its builder")
	}
}

// An upstream material whose attestation is not signed, in a pipeline that
// requires a signature, stops the build before make runs.
func TestUpstreamUnsignedStopsBuild(t *testing.T) {
	in := testenv.NewInstall(t)
	dir := pipelineExample(t, in)
	// The webapp build stops signing.
	wcfg := filepath.Join(dir, "webapp/mmbuild.yaml")
	data := string(mustRead(t, wcfg))
	cut := strings.Index(data, "signing:")
	if cut < 0 {
		t.Fatal("the example no longer signs")
	}
	if err := os.WriteFile(wcfg, []byte(data[:cut]+"sbom: true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := in.Run(dir, "pipeline", "run", "pipeline.yaml")
	if r.Code == 0 {
		t.Fatal("the server build accepted an unsigned upstream attestation")
	}
	line := errorLine(t, r)
	for _, w := range []string{"server", "upstream attestation check failed", "not signed"} {
		if !strings.Contains(line, w) {
			t.Errorf("error line lacks %q: %s", w, line)
		}
	}
	if exists(filepath.Join(dir, "server/dist")) || exists(filepath.Join(dir, "server/build")) {
		t.Error("make ran for the server build")
	}
	if exists(filepath.Join(dir, "out/store/server")) {
		t.Error("the server build published something")
	}
}

func TestSBOMRoundTrip(t *testing.T) {
	t.Parallel()
	in := testenv.NewInstall(t)
	dir, key, _ := trustHello(t, in)
	engineMustRun(t, in, dir, "run", "--sbom", "--sign-key", key)
	doc, err := spdxjson.Read(bytes.NewReader(mustRead(t, filepath.Join(dir, "out/sbom.spdx.json"))))
	if err != nil {
		t.Fatalf("SBOM does not parse with tools-golang: %v", err)
	}
	want := sha256Hex(t, mustRead(t, filepath.Join(dir, "dist/hello.tar.gz")))
	found := false
	for _, p := range doc.Packages {
		for _, c := range p.PackageChecksums {
			if string(c.Algorithm) == "SHA256" && c.Value == want && p.PackageName == "hello.tar.gz" {
				found = true
			}
		}
	}
	if !found {
		t.Fatalf("no package with the artifact's sha256 %s in the SBOM", want)
	}
	// What is inside the tarball (the cataloger's report), the material
	// and the source, in both formats, each valid against its official
	// schema.
	var inside, material, source bool
	for _, f := range doc.Files {
		inside = inside || f.FileName == "./hello"
	}
	for _, p := range doc.Packages {
		material = material || p.PackageName == "greeting.txt"
		source = source || p.PrimaryPackagePurpose == "SOURCE"
	}
	if !inside || !material || !source {
		t.Fatalf("the SPDX SBOM lists the tarball's files %v, the material %v, the source %v", inside, material, source)
	}
	validateSBOMSchema(t, "spdx-schema-2.3.json", mustRead(t, filepath.Join(dir, "out/sbom.spdx.json")))
	cdxDoc := mustRead(t, filepath.Join(dir, "out/sbom.cdx.json"))
	validateSBOMSchema(t, "bom-1.6.schema.json", cdxDoc)
	if !bytes.Contains(cdxDoc, []byte(`"name": "hello"`)) || !bytes.Contains(cdxDoc, []byte(`"greeting.txt"`)) {
		t.Fatal("the CycloneDX SBOM lacks the tarball's file or the material")
	}
	lines := strings.Split(strings.TrimSpace(string(mustRead(t, filepath.Join(dir, "out/provenance.intoto.jsonl")))), "\n")
	if len(lines) != 3 {
		t.Fatalf("bundle has %d lines, want provenance + the SPDX and CycloneDX SBOMs", len(lines))
	}
	var env struct{ Payload string }
	if err := json.Unmarshal([]byte(lines[1]), &env); err != nil {
		t.Fatal(err)
	}
	payload, _ := base64.StdEncoding.DecodeString(env.Payload)
	if !strings.Contains(string(payload), `"predicateType": "https://spdx.dev/Document/v2.3"`) {
		t.Fatalf("second bundle line is not the SBOM statement: %.200s", payload)
	}
	// Deterministic under SOURCE_DATE_EPOCH: a forced rebuild gives the same SBOM.
	first := mustRead(t, filepath.Join(dir, "out/sbom.spdx.json"))
	engineMustRun(t, in, dir, "run", "--sbom", "--force", "--sign-key", key)
	if !bytes.Equal(first, mustRead(t, filepath.Join(dir, "out/sbom.spdx.json"))) {
		t.Error("the SBOM changed between two identical builds")
	}
	// The bundle holding both lines verifies the artifact through the CLI.
	r := in.Run(dir, "verify", filepath.Join(dir, "dist/hello.tar.gz"), "--attestation", filepath.Join(dir, "out/provenance.intoto.jsonl"), "--key", strings.TrimSuffix(key, ".key")+".pub")
	if r.Code != 0 {
		t.Fatalf("verify of the signed bundle with an SBOM line: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
}
