package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/internal/testenv"
)

const (
	secretFromEnv  = "env-secret-AAAA-0123456789"
	secretFromFile = "file-secret-BBBB-9876543210"
)

// A secret from env:// and one from file:// reach the builder (env) and a
// file (replacement); the builder prints both, whole and split across
// writes; neither appears in anything mmbuild prints or writes, except the
// replaced file the user chose to publish.
func TestSecretsNeverLeak(t *testing.T) {
	in := testenv.NewInstall(t)
	secretDir := t.TempDir()
	secretFile := filepath.Join(secretDir, "token")
	if err := os.WriteFile(secretFile, []byte(secretFromFile+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	in.Env = append(in.Env, "MMBUILD_E2E_SECRET_SRC="+secretFromEnv)
	dir := engineProject(t, map[string]string{
		"app.conf": "key=%SECRET%\n",
		"Makefile": `all:
	@mkdir -p dist
	@echo ran >> builder-ran
	echo "to stdout A=$$TOKEN_A B=$$TOKEN_B"
	echo "to stderr A=$$TOKEN_A B=$$TOKEN_B" >&2
	cat app.conf
	@printf 'split %s' "$$(printf %s "$$TOKEN_A" | cut -c1-9)"; sleep 0.2; printf '%s end\n' "$$(printf %s "$$TOKEN_A" | cut -c10-)"
	cp app.conf dist/app.conf
	@sha256sum app.conf > dist/app.sum
	@printf 'unterminated %s' "$$TOKEN_B" >&2
`,
		"mmbuild.yaml": `handler:
  id: make
  params: ["all"]
secrets:
  - name: FROM_ENV
    from: env://MMBUILD_E2E_SECRET_SRC
  - name: FROM_FILE
    from: file://` + secretFile + `
env:
  - var: TOKEN_A
    valueFrom: {secret: FROM_ENV}
  - var: TOKEN_B
    valueFrom: {secret: FROM_FILE}
replacements:
  - paths: [app.conf]
    tag: "%SECRET%"
    valueFrom: {secret: FROM_FILE}
    required: true
artifacts:
  destination: file://${PWD}/published/
  files: ["dist/*"]
provenance: out/
`,
	})
	engineMustRun(t, in, dir, "plugins", "lock")
	// Trace logging: plugin and core logs are at their most talkative.
	r := engineMustRun(t, in, dir, "--log-level", "trace", "run")

	printed := r.Stdout + r.Stderr
	for _, s := range []string{secretFromEnv, secretFromFile, secretFromEnv[:12], secretFromFile[:12]} {
		if strings.Contains(printed, s) {
			t.Errorf("mmbuild printed (a part of) a secret %q:\nstdout:\n%s\nstderr:\n%s", s, r.Stdout, r.Stderr)
		}
	}
	// The builder's output did pass, redacted.
	for _, w := range []string{"to stdout A=[redacted] B=[redacted]", "key=[redacted]", "split [redacted] end"} {
		if !strings.Contains(r.Stdout, w) {
			t.Errorf("stdout lacks %q:\n%s", w, r.Stdout)
		}
	}
	for _, w := range []string{"to stderr A=[redacted] B=[redacted]", "unterminated [redacted]"} {
		if !strings.Contains(r.Stderr, w) {
			t.Errorf("stderr lacks %q:\n%s", w, r.Stderr)
		}
	}

	// The replacement is byte exact: the published file holds the secret,
	// by the user's choice.
	rep := "key=" + secretFromFile + "\n"
	if got := string(mustRead(t, filepath.Join(dir, "dist", "app.conf"))); got != rep {
		t.Errorf("dist/app.conf = %q, want %q", got, rep)
	}

	st := engineReadStatement(t, filepath.Join(dir, "out", "provenance.json"))
	env := st.Predicate.Invocation.Environment
	if env["TOKEN_A"] != "[redacted]" || env["TOKEN_B"] != "[redacted]" {
		t.Errorf("attested TOKEN_A=%q TOKEN_B=%q, want both [redacted]", env["TOKEN_A"], env["TOKEN_B"])
	}
	stagingURL := ""
	for _, l := range strings.Split(string(mustRead(t, filepath.Join(dir, "build.env"))), "\n") {
		if v, ok := strings.CutPrefix(l, "MMBUILD_STAGING_URL="); ok {
			stagingURL = v
		}
	}
	staging := engineFilePath(t, stagingURL)
	if !exists(filepath.Join(staging, "provenance.json")) {
		t.Fatalf("no attestation published at %s", staging)
	}
	published := engineReadStatement(t, filepath.Join(staging, "provenance.json"))
	if published.Predicate.Invocation.Environment["TOKEN_A"] != "[redacted]" {
		t.Error("published attestation does not redact TOKEN_A")
	}

	places := []string{filepath.Join(dir, "out"), filepath.Join(dir, "published"), filepath.Join(dir, "build.env")}
	if hits := engineFilesContaining(t, secretFromEnv, places...); len(hits) > 0 {
		t.Errorf("the env:// secret leaked into %v", hits)
	}
	hits := engineFilesContaining(t, secretFromFile, places...)
	if len(hits) != 1 || hits[0] != filepath.Join(staging, "app.conf") {
		t.Errorf("the file:// secret is in %v, want only the published app.conf", hits)
	}
}

func TestSecretErrors(t *testing.T) {
	in := testenv.NewInstall(t)
	in.Env = append(in.Env, "MMBUILD_E2E_SHORT=abc", "MMBUILD_E2E_LONG=long-enough-secret")
	tests := []struct {
		name  string
		extra string
		args  []string
		want  []string
	}{
		{
			name: "too short",
			extra: `secrets:
  - name: SHORT
    from: env://MMBUILD_E2E_SHORT
`,
			args: []string{"run"},
			want: []string{"mmbuild.yaml:", "secret SHORT", "shorter than 4 characters"},
		},
		{
			name: "missing file",
			extra: `secrets:
  - name: GONE
    from: file:///nonexistent/mmbuild-e2e/secret
`,
			args: []string{"run"},
			want: []string{"mmbuild.yaml:", "secret GONE", "/nonexistent/mmbuild-e2e/secret"},
		},
		{
			name: "expanded into the config",
			extra: `secrets:
  - name: LONG
    from: env://MMBUILD_E2E_LONG
transfers:
  - source: ["dist/*.out"]
    destination: file://${PWD}/${MMBUILD_E2E_LONG}/
`,
			args: []string{"validate"},
			want: []string{"mmbuild.yaml:", "MMBUILD_E2E_LONG", "is a secret", "never expanded"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := engineLockedProject(t, in, tt.extra)
			line := engineMustFail(t, in, dir, tt.args, tt.want...)
			if strings.Contains(line, "long-enough-secret") || strings.Contains(line, "=abc") {
				t.Errorf("the error line shows the value: %s", line)
			}
			if tt.args[0] == "validate" {
				engineMustFail(t, in, dir, []string{"run"}, tt.want...)
			}
			if exists(filepath.Join(dir, "builder-ran")) {
				t.Error("the builder ran")
			}
			assertNothingPublished(t, dir)
		})
	}
}

// A multi-line secret (a key file) printed line by line, each line its own
// write: every line of it is still redacted, as CI systems mask them.
func TestMultilineSecretRedactedLineByLine(t *testing.T) {
	in := testenv.NewInstall(t)
	lines := []string{"-----BEGIN TEST KEY-----", "c2VjcmV0LWxpbmUtb25lLWFhYWFhYWFh", "c2VjcmV0LWxpbmUtdHdvLWJiYmJiYmJi", "-----END TEST KEY-----"}
	keyFile := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(keyFile, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := engineLockedProject(t, in, `secrets:
  - name: KEY
    from: file://`+keyFile+`
env:
  - var: KEY
    valueFrom: {secret: KEY}
`)
	writeFiles(t, dir, map[string]string{"Makefile": `all:
	@mkdir -p dist
	@echo ran > builder-ran
	cp $(MMBUILD_MATERIALS_DIR)/data.txt dist/data.out
	@printf '%s\n' "$$KEY" | while IFS= read -r l; do echo "key line: $$l"; sleep 0.1; done
	@printf '%s\n' "$$KEY" | while IFS= read -r l; do echo "key line: $$l" >&2; sleep 0.1; done
`})
	r := engineMustRun(t, in, dir, "run")
	if !strings.Contains(r.Stdout, "key line: [redacted]") {
		t.Fatalf("the builder's output is not there:\n%s", r.Stdout)
	}
	for _, l := range lines[1:3] {
		if strings.Contains(r.Stdout+r.Stderr, l) {
			t.Errorf("a line of the secret was printed: %s\nstdout:\n%s\nstderr:\n%s", l, r.Stdout, r.Stderr)
		}
	}
}

// Output without newlines is passed on in pieces; a secret split across two
// writes at a piece's end is still redacted whole.
func TestSecretSplitInLongOutput(t *testing.T) {
	in := testenv.NewInstall(t)
	in.Env = append(in.Env, "MMBUILD_E2E_SECRET_SRC="+secretFromEnv)
	dir := engineLockedProject(t, in, `secrets:
  - name: S
    from: env://MMBUILD_E2E_SECRET_SRC
env:
  - var: TOKEN
    valueFrom: {secret: S}
`)
	writeFiles(t, dir, map[string]string{"Makefile": `all:
	@mkdir -p dist
	@echo ran > builder-ran
	@cp $(MMBUILD_MATERIALS_DIR)/data.txt dist/data.out
	@head -c 65530 /dev/zero | tr '\000' x; printf '%s' "$$(printf %s "$$TOKEN" | cut -c1-12)"; sleep 0.3; printf '%s end\n' "$$(printf %s "$$TOKEN" | cut -c13-)"
`})
	r := engineMustRun(t, in, dir, "run")
	if !strings.Contains(r.Stdout, "x[redacted] end") {
		t.Errorf("the secret is not redacted whole at the end of the long output: %q", r.Stdout[max(0, len(r.Stdout)-80):])
	}
	if strings.Contains(r.Stdout+r.Stderr, secretFromEnv[:8]) {
		t.Errorf("a piece of the secret was printed: %q", r.Stdout[max(0, len(r.Stdout)-80):])
	}
}
