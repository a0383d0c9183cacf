package run

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/mmbuild/mmbuild/core/build/remote"
)

const baseConfig = `handler:
  id: make
  params: ["dist/out.txt"]
env:
  - var: SHOUT
    value: plain
materials:
  - uri: ${MAT}
    digest: {sha256: ` + greetingSHA256 + `}
artifacts:
  destination: ${DEST}
  files: ["dist/out.txt"]
provenance: out/
`

type outcome struct {
	res    *Result
	err    error
	stdout string
	gets   []string
}

func runProject(t *testing.T, p *project, extra ...Option) outcome {
	t.Helper()
	var stdout bytes.Buffer
	rec := &transfers{}
	opts := append([]Option{
		WithHost(attachedHost(t)),
		WithLookupEnv(p.lookup),
		WithOutput(&stdout, &stdout),
		WithProgress(rec),
		WithTempDir(t.TempDir()),
	}, extra...)
	res, err := Run(context.Background(), p.load(t), opts...)
	return outcome{res: res, err: err, stdout: stdout.String(), gets: rec.gets}
}

func TestRunPublishesArtifactsThenAttestation(t *testing.T) {
	p := newProject(t, baseConfig)
	o := runProject(t, p)
	if o.err != nil {
		t.Fatal(o.err)
	}
	key := o.res.StagingKey
	want := []string{filepath.Join(key, "out.txt"), filepath.Join(key, StatementName)}
	if got := p.published(t); !slices.Equal(got, want) {
		t.Fatalf("published %v, want %v", got, want)
	}
	if len(o.res.Artifacts) != 1 || o.res.Artifacts[0].URL == "" || o.res.Artifacts[0].Digest["sha256"] != greetingSHA256 {
		t.Fatalf("artifacts: %+v", o.res.Artifacts)
	}
	if _, err := os.Stat(filepath.Join(p.dir, "out", StatementName)); err != nil {
		t.Fatalf("local attestation: %v", err)
	}
	env, err := os.ReadFile(filepath.Join(p.dir, DefaultOutputEnv))
	if err != nil || !strings.Contains(string(env), StagingPathVar+"="+key+"\n") {
		t.Fatalf("build.env: %q %v", env, err)
	}
}

// With every material's sha256 in the config the staging key is known
// before fetching, so a cache hit fetches no material at all: here the
// material is even gone.
func TestCacheHitFetchesNoMaterialWhenDigestsAreGiven(t *testing.T) {
	p := newProject(t, baseConfig)
	if o := runProject(t, p); o.err != nil {
		t.Fatal(o.err)
	}
	if err := os.Remove(p.material); err != nil {
		t.Fatal(err)
	}
	o := runProject(t, p)
	if o.err != nil {
		t.Fatal(o.err)
	}
	if !o.res.Cached {
		t.Fatal("second run was not a cache hit")
	}
	if len(o.gets) != 0 {
		t.Fatalf("cache hit fetched %v", o.gets)
	}
	if n := p.builds(t); n != 1 {
		t.Fatalf("builder ran %d times, want 1", n)
	}
}

// Without a digest the key depends on the fetched bytes: the lookup waits
// for the fetch, then hits.
func TestCacheWaitsForMaterialsWithoutDigest(t *testing.T) {
	p := newProject(t, strings.Replace(baseConfig, "    digest: {sha256: "+greetingSHA256+"}\n", "", 1))
	if o := runProject(t, p); o.err != nil {
		t.Fatal(o.err)
	}
	o := runProject(t, p)
	if o.err != nil {
		t.Fatal(o.err)
	}
	if !o.res.Cached || len(o.gets) != 1 {
		t.Fatalf("cached=%v gets=%v, want a hit after one fetch", o.res.Cached, o.gets)
	}
	write(t, p.material, "changed\n")
	if o := runProject(t, p); o.err != nil || o.res.Cached {
		t.Fatalf("changed material: cached=%v err=%v, want a rebuild", o.res != nil && o.res.Cached, o.err)
	}
}

// Each failure stops the run where it happens: nothing is published, and
// failures before the build leave the builder unrun.
func TestFailuresPublishNothing(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(cfg string) string
		prepare func(t *testing.T, p *project)
		built   int
		wantErr string
		is      error
	}{
		{
			name:    "digest mismatch stops before the build",
			edit:    func(c string) string { return strings.Replace(c, greetingSHA256, strings.Repeat("0", 64), 1) },
			wantErr: "sha256",
		},
		{
			name:    "missing material",
			prepare: func(t *testing.T, p *project) { _ = os.Remove(p.material) },
			wantErr: "not found",
			is:      remote.ErrNotFound,
		},
		{
			name: "builder fails",
			edit: func(c string) string {
				return strings.Replace(c, `params: ["dist/out.txt"]`, `params: ["no-such-target"]`, 1)
			},
			wantErr: "build failed",
		},
		{
			name: "artifact glob matches nothing",
			edit: func(c string) string {
				return strings.Replace(c, `files: ["dist/out.txt"]`, `files: ["dist/*.zip"]`, 1)
			},
			built:   1,
			wantErr: "matched no file",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := baseConfig
			if tt.edit != nil {
				cfg = tt.edit(cfg)
			}
			p := newProject(t, cfg)
			if tt.prepare != nil {
				tt.prepare(t, p)
			}
			o := runProject(t, p)
			if o.err == nil || !strings.Contains(o.err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", o.err, tt.wantErr)
			}
			if tt.is != nil && !errors.Is(o.err, tt.is) {
				t.Fatalf("errors.Is(%v, %v) = false", o.err, tt.is)
			}
			if got := p.published(t); len(got) != 0 {
				t.Fatalf("published %v after a failure", got)
			}
			if n := p.builds(t); n != tt.built {
				t.Fatalf("builder ran %d times, want %d", n, tt.built)
			}
			if _, err := os.Stat(filepath.Join(p.dir, "out", StatementName)); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("local attestation after a failure: %v", err)
			}
		})
	}
}

func TestBuildFailedIsTyped(t *testing.T) {
	p := newProject(t, strings.Replace(baseConfig, `params: ["dist/out.txt"]`, `params: ["nope"]`, 1))
	o := runProject(t, p)
	var bf *BuildFailedError
	if !errors.As(o.err, &bf) || bf.ExitCode == 0 {
		t.Fatalf("err = %v, want a BuildFailedError", o.err)
	}
}

// A secret's value is redacted from the builder's output and the
// attestation, also where it reaches them through a plain variable.
func TestSecretValueRedactedHoweverItArrives(t *testing.T) {
	const secret = "s3cr3t-token-value"
	cfg := strings.Replace(baseConfig, "env:\n  - var: SHOUT\n    value: plain\n",
		"secrets:\n  - name: TOKEN\n    from: env://CI_TOKEN\nenv:\n  - var: SHOUT\n  - var: AUTH\n    valueFrom: {secret: TOKEN}\n", 1)
	p := newProject(t, cfg)
	p.env["CI_TOKEN"] = secret
	p.env["SHOUT"] = "the token is " + secret // a plain passthrough variable holding it
	o := runProject(t, p)
	if o.err != nil {
		t.Fatal(o.err)
	}
	if strings.Contains(o.stdout, secret) || !strings.Contains(o.stdout, "the token is [redacted]") {
		t.Fatalf("builder output: %q", o.stdout)
	}
	data, err := os.ReadFile(o.res.StatementPath)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(data, []byte(secret)) {
		t.Fatal("secret in the attestation")
	}
	var stmt struct {
		Predicate struct {
			Invocation struct {
				Environment map[string]string `json:"environment"`
			} `json:"invocation"`
		} `json:"predicate"`
	}
	if err := json.Unmarshal(data, &stmt); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"AUTH", "SHOUT"} {
		if v := stmt.Predicate.Invocation.Environment[name]; v != "[redacted]" {
			t.Errorf("attested %s = %v, want [redacted]", name, v)
		}
	}
}

// An artifact named after a secret's value is refused before anything is
// published: its name would be public.
func TestArtifactNamedAfterASecretIsRefused(t *testing.T) {
	const secret = "s3cr3t-name-value"
	cfg := strings.Replace(baseConfig, "env:\n  - var: SHOUT\n    value: plain\n",
		"secrets:\n  - name: TOKEN\n    from: env://CI_TOKEN\nenv:\n  - var: SHOUT\n    value: plain\n", 1)
	cfg = strings.Replace(cfg, `files: ["dist/out.txt"]`, `files: ["dist/*"]`, 1)
	p := newProject(t, cfg)
	p.env["CI_TOKEN"] = secret
	write(t, filepath.Join(p.dir, "Makefile"), makefile+"\tcp dist/out.txt dist/"+secret+"\n")
	o := runProject(t, p)
	if o.err == nil || !strings.Contains(o.err.Error(), "holds a secret's value") || strings.Contains(o.err.Error(), secret) {
		t.Fatalf("err = %v", o.err)
	}
	if got := p.published(t); len(got) != 0 {
		t.Fatalf("published %v", got)
	}
}

// An artifact that takes a name of the evidence (provenance.json) or of
// the store index is refused before anything is published: literally named at the config
// check with its position, matched by a glob after the build.
func TestArtifactNamedLikeTheEvidenceIsRefusedBeforePublishing(t *testing.T) {
	tests := []struct {
		name, files, taken string
		built              int
		want               string
	}{
		{"literal", `files: ["dist/out.txt", "dist/provenance.json"]`, "provenance.json", 0, "mmbuild.yaml:12:27: artifacts.files[1]: an artifact named provenance.json"},
		{"glob", `files: ["dist/*"]`, "provenance.json", 1, "provenance.json: an artifact named provenance.json would be published where the attestation's provenance.json goes"},
		{"store index", `files: ["dist/*"]`, "provenance.index.json", 1, "provenance.index.json: an artifact named provenance.index.json would be published where the store index goes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newProject(t, strings.Replace(baseConfig, `files: ["dist/out.txt"]`, tt.files, 1))
			write(t, filepath.Join(p.dir, "Makefile"), makefile+"\tcp dist/out.txt dist/"+tt.taken+"\n")
			o := runProject(t, p)
			if o.err == nil || !strings.Contains(o.err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", o.err, tt.want)
			}
			if got := p.published(t); len(got) != 0 {
				t.Fatalf("published %v", got)
			}
			if n := p.builds(t); n != tt.built {
				t.Fatalf("builder ran %d times, want %d", n, tt.built)
			}
		})
	}
}

// A secret's value that reaches the destination URL through a plain
// variable (also percent-encoded) is refused before the build: it would
// become a folder name at the destination and an unusable [redacted] URL
// in build.env and the attestation.
func TestSecretInTheDestinationURLIsRefusedBeforeTheBuild(t *testing.T) {
	const secret = "s3cr3t dest/value"
	for name, dest := range map[string]func(p *project) string{
		"raw":             func(p *project) string { return "file://" + p.dest + "/" + secret + "/" },
		"percent-encoded": func(p *project) string { return "file://" + p.dest + "/" + url.PathEscape(secret) + "/" },
	} {
		t.Run(name, func(t *testing.T) {
			cfg := strings.Replace(baseConfig, "env:\n  - var: SHOUT\n    value: plain\n",
				"secrets:\n  - name: TOKEN\n    from: env://CI_TOKEN\nenv:\n  - var: SHOUT\n    value: plain\n", 1)
			p := newProject(t, cfg)
			p.env["CI_TOKEN"] = secret
			p.env["DEST"] = dest(p)
			o := runProject(t, p)
			if o.err == nil || !strings.Contains(o.err.Error(), "artifacts.destination") || !strings.Contains(o.err.Error(), "holds a secret's value") {
				t.Fatalf("err = %v", o.err)
			}
			if strings.Contains(o.err.Error(), "s3cr3t") {
				t.Fatalf("the secret is in the error: %v", o.err)
			}
			if got := p.published(t); len(got) != 0 || p.builds(t) != 0 {
				t.Fatalf("built %d times, published %v", p.builds(t), got)
			}
		})
	}
}

// A secret read from a named pipe (file://) is refused at once: opening it
// would wait for a writer, and no signal would end the wait.
func TestSecretFromANamedPipeIsRefusedWithoutWaiting(t *testing.T) {
	pipe := filepath.Join(t.TempDir(), "secret")
	if err := syscall.Mkfifo(pipe, 0o600); err != nil {
		t.Fatal(err)
	}
	p := newProject(t, strings.Replace(baseConfig, "env:\n", "secrets:\n  - name: TOKEN\n    from: file://"+pipe+"\nenv:\n", 1))
	done := make(chan outcome, 1)
	go func() { done <- runProject(t, p) }()
	select {
	case o := <-done:
		if o.err == nil || !strings.Contains(o.err.Error(), "secret TOKEN") || !strings.Contains(o.err.Error(), "not a regular file") {
			t.Fatalf("err = %v", o.err)
		}
	case <-time.After(10 * time.Second):
		if w, err := os.OpenFile(pipe, os.O_WRONLY, 0); err == nil {
			w.Close()
		}
		<-done
		t.Fatal("the run blocked opening the secret's named pipe")
	}
	if p.builds(t) != 0 || len(p.published(t)) != 0 {
		t.Fatal("built or published")
	}
}

// A material larger than its maxSize is refused before anything runs.
func TestMaterialOverItsSizeLimit(t *testing.T) {
	p := newProject(t, strings.Replace(baseConfig, "    digest: {sha256: "+greetingSHA256+"}\n", "    maxSize: 3\n", 1))
	o := runProject(t, p)
	if o.err == nil || !strings.Contains(o.err.Error(), "larger than its size limit of 3 bytes") || !strings.Contains(o.err.Error(), "mmbuild.yaml:") {
		t.Fatalf("err = %v", o.err)
	}
	if p.builds(t) != 0 || len(p.published(t)) != 0 {
		t.Fatal("built or published after a refused material")
	}
}

// A local output that cannot be written fails the run before anything is
// published, and leaves no local attestation.
func TestLocalOutputFailureBeforePublishing(t *testing.T) {
	tests := []struct {
		name  string
		block func(p *project) // makes the output's place unwritable
		opts  []Option
		want  string
	}{
		{"provenance folder is a file", func(p *project) { write(t, filepath.Join(p.dir, "out"), "not a folder") }, nil, "provenance: writing"},
		{"output-env in a folder that is a file", func(p *project) { write(t, filepath.Join(p.dir, "blocked"), "x") }, []Option{WithOutputEnv("blocked/build.env")}, "build.env"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newProject(t, baseConfig)
			tt.block(p)
			var opts []Option
			if len(tt.opts) > 0 { // relative to this test's project
				opts = []Option{WithOutputEnv(filepath.Join(p.dir, "blocked", "build.env"))}
			}
			o := runProject(t, p, opts...)
			if o.err == nil || !strings.Contains(o.err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", o.err, tt.want)
			}
			if got := p.published(t); len(got) != 0 {
				t.Fatalf("published %v although the run failed", got)
			}
		})
	}
}

// An output pointed at the project's config or lock file, or at an
// existing folder, fails the run before anything is published, and leaves
// the input as it was.
func TestOutputOnInputOrFolderRefusedBeforePublishing(t *testing.T) {
	tests := []struct {
		name string
		opts func(p *project) []Option
		env  func(p *project) map[string]string
		want string
	}{
		{"output-env is the config", func(p *project) []Option {
			return []Option{WithOutputEnv(filepath.Join(p.dir, "mmbuild.yaml"))}
		}, nil, "project's mmbuild.yaml"},
		{"output-env is the lock", func(p *project) []Option {
			return []Option{WithOutputEnv(filepath.Join(p.dir, "mmbuild.lock.hcl")), WithInputs(filepath.Join(p.dir, "mmbuild.lock.hcl"))}
		}, nil, "project's mmbuild.lock.hcl"},
		{"output-env is a link to the config", func(p *project) []Option {
			if err := os.Symlink("mmbuild.yaml", filepath.Join(p.dir, "link.env")); err != nil {
				t.Fatal(err)
			}
			return []Option{WithOutputEnv(filepath.Join(p.dir, "link.env"))}
		}, nil, "project's mmbuild.yaml"},
		{"output-env is a folder", func(p *project) []Option {
			return []Option{WithOutputEnv(filepath.Join(p.dir, "dist-env"))}
		}, nil, "is a folder"},
		{"GITHUB_OUTPUT is the config", nil, func(p *project) map[string]string {
			return map[string]string{"GITHUB_OUTPUT": filepath.Join(p.dir, "mmbuild.yaml")}
		}, "project's mmbuild.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newProject(t, baseConfig)
			write(t, filepath.Join(p.dir, "mmbuild.lock.hcl"), "# lock\n")
			if err := os.Mkdir(filepath.Join(p.dir, "dist-env"), 0o755); err != nil {
				t.Fatal(err)
			}
			var opts []Option
			if tt.opts != nil {
				opts = tt.opts(p)
			}
			if tt.env != nil {
				for k, v := range tt.env(p) {
					p.env[k] = v
				}
			}
			o := runProject(t, p, opts...)
			if o.err == nil || !strings.Contains(o.err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", o.err, tt.want)
			}
			if got := p.published(t); len(got) != 0 {
				t.Fatalf("published %v although the run failed", got)
			}
			if b, _ := os.ReadFile(filepath.Join(p.dir, "mmbuild.yaml")); string(b) != baseConfig {
				t.Fatalf("the config was changed: %q", b)
			}
			if b, _ := os.ReadFile(filepath.Join(p.dir, "mmbuild.lock.hcl")); string(b) != "# lock\n" {
				t.Fatalf("the lock was changed: %q", b)
			}
		})
	}
}

// Two runs of one staging key publishing to one destination at the same
// time, with a builder that is not reproducible: whatever the interleaving,
// a run that succeeds leaves a destination whose attestation matches its
// artifacts, and a run that finds the destination inconsistent fails with
// ErrConcurrentPublish.
func TestConcurrentPublishOfOneKey(t *testing.T) {
	cfg := strings.Replace(baseConfig, "    digest: {sha256: "+greetingSHA256+"}\n", "    digest: {sha256: "+greetingSHA256+"}\n", 1)
	p := newProject(t, cfg)
	write(t, filepath.Join(p.dir, "Makefile"), "dist/out.txt:\n\tmkdir -p dist\n\tdate +%N > dist/out.txt\n")
	git(t, p.dir, "commit", "-qam", "not reproducible")
	clone := filepath.Join(t.TempDir(), "clone")
	git(t, filepath.Dir(clone), "clone", "-q", p.dir, clone)
	q := *p
	q.dir = clone
	succeeded, refused := 0, 0
	defer func() { t.Logf("%d runs succeeded, %d found the destination inconsistent", succeeded, refused) }()
	for round := 0; round < 8; round++ {
		_ = os.RemoveAll(p.dest)
		results := make(chan outcome, 2)
		for _, pr := range []*project{p, &q} {
			go func() { results <- runProject(t, pr, WithForce(true)) }()
		}
		var keys []string
		for range 2 {
			o := <-results
			if o.err != nil {
				if !errors.Is(o.err, ErrConcurrentPublish) {
					t.Fatalf("round %d: %v", round, o.err)
				}
				refused++
				continue
			}
			succeeded++
			keys = append(keys, o.res.StagingKey)
		}
		if len(keys) == 2 && keys[0] != keys[1] {
			t.Fatalf("the two runs have different keys (%v): the test proves nothing", keys)
		}
		if len(keys) > 0 {
			assertConsistent(t, filepath.Join(p.dest, keys[0]))
		}
	}
}

// assertConsistent checks that the attestation in dir names exactly the
// sha256 of the artifact beside it.
func assertConsistent(t *testing.T, dir string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, StatementName))
	if err != nil {
		t.Fatal(err)
	}
	art, err := os.ReadFile(filepath.Join(dir, "out.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if want := sha256Hex(art); !bytes.Contains(data, []byte(want)) {
		t.Fatalf("the published attestation does not name the published artifact's sha256 %s", want)
	}
}

// The "building" log line names the handler's params: one holding a
// secret's value is redacted there too.
func TestBuildingLogLineRedacted(t *testing.T) {
	const secret = "s3cr3t-param-value"
	cfg := strings.Replace(baseConfig, "env:\n  - var: SHOUT\n    value: plain\n",
		"secrets:\n  - name: TOKEN\n    from: env://CI_TOKEN\nenv:\n  - var: SHOUT\n    value: plain\n", 1)
	cfg = strings.Replace(cfg, `params: ["dist/out.txt"]`, `params: ["dist/out.txt", "X=`+secret+`"]`, 1)
	p := newProject(t, cfg)
	p.env["CI_TOKEN"] = secret
	var logs bytes.Buffer
	o := runProject(t, p, WithLogger(hclog.New(&hclog.LoggerOptions{Output: &logs, Level: hclog.Info})))
	if o.err != nil {
		t.Fatal(o.err)
	}
	if !strings.Contains(logs.String(), "building") || strings.Contains(logs.String(), secret) {
		t.Fatalf("log:\n%s", logs.String())
	}
}

// provenance: may name the user's own folder by an absolute path, as the
// original format's /tmp/slsa/ did.
func TestAbsoluteProvenanceFolder(t *testing.T) {
	abs := filepath.Join(t.TempDir(), "slsa")
	p := newProject(t, strings.Replace(baseConfig, "provenance: out/", "provenance: "+abs+"/", 1))
	o := runProject(t, p)
	if o.err != nil {
		t.Fatal(o.err)
	}
	if o.res.StatementPath != filepath.Join(abs, StatementName) {
		t.Fatalf("statement at %s", o.res.StatementPath)
	}
	if _, err := os.Stat(o.res.StatementPath); err != nil {
		t.Fatal(err)
	}
}
