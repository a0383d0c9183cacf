package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/internal/testenv"
	"github.com/mmbuild/mmbuild/internal/testservers"
)

// examples/remote against a real S3 server and a real HTTP server:
// materials from both, artifacts and attestation to S3, with progress as
// JSON events.
func TestRemoteExample(t *testing.T) {
	in := testenv.NewInstall(t)
	s3 := testservers.StartS3(t)
	dir := testenv.Example(t, "remote")
	for _, b := range []string{"materials", "artifacts"} {
		if err := os.MkdirAll(filepath.Join(s3.Dir, b), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFiles(t, s3.Dir, map[string]string{"materials/greeting.txt": string(mustRead(t, filepath.Join(dir, "inputs/greeting.txt")))})
	web := testservers.NewHTTPServer(t, filepath.Join(dir, "inputs"))
	in.Env = append(in.Env,
		"AWS_ACCESS_KEY_ID="+s3.AccessKey, "AWS_SECRET_ACCESS_KEY="+s3.SecretKey, "AWS_REGION="+s3.Region,
		"MMBUILD_S3_ENDPOINT="+s3.Endpoint, "DEMO_HTTP_URL="+web.URL)
	engineMustRun(t, in, dir, "plugins", "lock")
	r := engineMustRun(t, in, dir, "run", "--json")
	var rep struct {
		StagingURL string `json:"staging_url"`
		Artifacts  []struct{ Name, SHA256, URL string }
	}
	if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil {
		t.Fatalf("run --json: %v\n%s", err, r.Stdout)
	}
	if !strings.HasPrefix(rep.StagingURL, "s3://artifacts/remote/") || len(rep.Artifacts) != 1 {
		t.Fatalf("report %+v", rep)
	}
	key := strings.TrimPrefix(rep.StagingURL, "s3://artifacts/")
	published := filepath.Join(s3.Dir, "artifacts", key)
	if got := sha256Hex(t, mustRead(t, filepath.Join(published, "remote.tar.gz"))); got != rep.Artifacts[0].SHA256 {
		t.Fatalf("artifact in the bucket has sha256 %s, want %s", got, rep.Artifacts[0].SHA256)
	}
	if !exists(filepath.Join(published, "provenance.json")) {
		t.Fatal("attestation not published to S3")
	}
	st := engineReadStatement(t, filepath.Join(dir, "out/provenance.json"))
	raw, _ := json.Marshal(st)
	for _, want := range []string{"s3://materials/greeting.txt", web.URL + "/motd.txt"} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("attestation does not record material %s", want)
		}
	}
	if web.Count("/motd.txt") == 0 {
		t.Error("the HTTP server never served the material")
	}
	// --json: progress events are JSON lines on stderr.
	sawEvent := false
	for _, l := range strings.Split(r.Stderr, "\n") {
		if strings.HasPrefix(l, `{"type":"transfer"`) {
			sawEvent = true
		}
	}
	if !sawEvent {
		t.Errorf("no JSON progress event on stderr:\n%s", r.Stderr)
	}
	// The credentials never reach the output or the attestation.
	if strings.Contains(r.Stdout+r.Stderr+string(raw), s3.SecretKey) {
		t.Error("the S3 secret key leaked")
	}
}

// A git material: the tree at a tag, its commit recorded as sha1, through a
// real smart-HTTP server that needs a token given by credentials:.
func TestGitMaterialWithCredentials(t *testing.T) {
	in := testenv.NewInstall(t)
	root := t.TempDir()
	repo := testservers.NewGitRepoAt(t, root, "lib.git", map[string]string{"src/lib.txt": "library v1\n"})
	repo.Tag("v1")
	commit := repo.Head()
	repo.Commit(map[string]string{"src/lib.txt": "library v2\n"})
	const token = "git-token-for-e2e-1234"
	srv := testservers.ServeGitHTTP(t, root, testservers.WithGitBasicAuth("x-access-token", token))
	dir := engineProject(t, map[string]string{
		"Makefile": "all:\n\t@mkdir -p dist\n\tcp $(MMBUILD_MATERIALS_DIR)/lib/src/lib.txt dist/lib.txt\n",
		"mmbuild.yaml": "handler: {id: make, params: [all]}\n" +
			"secrets: [{name: GIT_TOKEN, from: env://E2E_GIT_TOKEN}]\n" +
			"credentials: [{url: 'git+" + srv.URL + "/', secret: GIT_TOKEN}]\n" +
			"materials:\n  - uri: git+" + srv.URL + "/lib.git@v1\n    digest: {sha1: " + commit + "}\n" +
			"artifacts: {files: [dist/lib.txt]}\nprovenance: out/\n",
	})
	in.Env = append(in.Env, "E2E_GIT_TOKEN="+token)
	engineMustRun(t, in, dir, "plugins", "lock")
	r := engineMustRun(t, in, dir, "run")
	if got := string(mustRead(t, filepath.Join(dir, "dist/lib.txt"))); got != "library v1\n" {
		t.Fatalf("built from %q, want the tree at v1", got)
	}
	raw := string(mustRead(t, filepath.Join(dir, "out/provenance.json")))
	if !strings.Contains(raw, `"sha1": "`+commit+`"`) {
		t.Errorf("the tag's commit %s is not recorded", commit)
	}
	if strings.Contains(r.Stdout+r.Stderr+raw, token) {
		t.Error("the git token leaked")
	}
	// Without the token: one clear error, nothing built.
	in.Env = append(in.Env[:len(in.Env)-1], "E2E_GIT_TOKEN=wrong-token-abcdef")
	f := in.Run(dir, "run", "--force")
	if f.Code == 0 {
		t.Fatal("a wrong token was accepted")
	}
	if line := errorLine(t, f); !strings.Contains(line, "authentication") || strings.Contains(line, "wrong-token-abcdef") {
		t.Errorf("error line: %s", line)
	}
}
