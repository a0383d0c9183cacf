package e2e

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/internal/testenv"
	"github.com/mmbuild/mmbuild/internal/testservers"
)

// The identity token is the job's identity: a hostile Makefile of a build
// signed keylessly must not find it in its environment, in the core's
// (/proc), nor in the --identity-token file. Under the default box every
// attempt fails and the build is signed; with mode: off the core's
// environment and the file are readable, which shows the test can fail. A
// config that hands the build a token variable by env: is refused.
func TestKeylessTokenHiddenFromTheBuild(t *testing.T) {
	t.Parallel()
	s := testservers.StartSigstore(t)
	for _, tc := range []struct {
		mode    string
		succeed bool
	}{
		{"auto", false},
		{"off", true},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			in := testenv.NewInstall(t)
			root := t.TempDir()
			dir := filepath.Join(root, "proj")
			tokenFile := s.OIDC.TokenFile(t, "file@example.com") // not the token signed with
			fileToken := strings.TrimSpace(string(mustRead(t, tokenFile)))
			envToken := s.Token(t, keylessWho)
			srv := listen(t)
			writeFiles(t, dir, map[string]string{
				"Makefile": `all:
	@mkdir -p dist
	@./attacker -- "$(OUTSIDE)" "$(ADDR)" "SIGSTORE_ID_TOKEN=" > dist/report.txt 2>&1
	@env > dist/env.txt
	@cat "$(TOKEN_FILE)" > dist/tokenfile.txt 2>&1 || true
`,
				"mmbuild.yaml": `handler: {id: make, params: [all]}
env:
  - {var: OUTSIDE, value: "` + filepath.Join(root, "outside.txt") + `"}
  - {var: ADDR, value: "` + srv.addr + `"}
  - {var: TOKEN_FILE, value: "` + tokenFile + `"}
artifacts:
  destination: file://${PWD}/published/
  files: ["dist/report.txt", "dist/env.txt", "dist/tokenfile.txt"]
provenance: out/
signing: {keyless: true, signingConfig: "` + s.SigningConfig + `", trustedRoot: "` + s.TrustedRoot + `"}
isolation: {mode: ` + tc.mode + `}
`,
			})
			buildAttacker(t, filepath.Join(dir, "attacker"))
			in.Env = append(in.Env, "SIGSTORE_ID_TOKEN="+envToken)
			in.MustRun(dir, "plugins", "lock")
			r := in.MustRun(dir, "run", "--identity-token", tokenFile)

			report := string(mustRead(t, filepath.Join(dir, "dist", "report.txt")))
			if ok := strings.Contains(report, "core-environ: ok\n"); ok != tc.succeed {
				t.Errorf("mode %s: the build read the token in the core's environment=%t, want %t\n%s", tc.mode, ok, tc.succeed, report)
			}
			if got := strings.Contains(string(mustRead(t, filepath.Join(dir, "dist", "tokenfile.txt"))), fileToken); got != tc.succeed {
				t.Errorf("mode %s: the build read --identity-token's file=%t, want %t", tc.mode, got, tc.succeed)
			}
			env := string(mustRead(t, filepath.Join(dir, "dist", "env.txt")))
			if strings.Contains(env, envToken) || strings.Contains(env, "SIGSTORE_ID_TOKEN") {
				t.Errorf("mode %s: the build's environment holds the token:\n%s", tc.mode, env)
			}
			if strings.Contains(r.Stdout+r.Stderr, envToken) {
				t.Errorf("the token was printed")
			}
			if leaked := engineFilesContaining(t, envToken, filepath.Join(dir, "out"), filepath.Join(dir, "published")); len(leaked) > 0 {
				t.Errorf("the token was written to %v", leaked)
			}
			if !exists(filepath.Join(dir, "out", "provenance.sigstore.json")) {
				t.Errorf("the build was not signed keylessly")
			}
		})
	}

	t.Run("env hands the token to the build", func(t *testing.T) {
		in := testenv.NewInstall(t)
		dir := filepath.Join(t.TempDir(), "proj")
		writeFiles(t, dir, map[string]string{
			"Makefile": "all:\n\t@mkdir -p dist && echo hi > dist/out.txt\n",
			"mmbuild.yaml": `handler: {id: make, params: [all]}
env:
  - var: SIGSTORE_ID_TOKEN
artifacts:
  destination: file://${PWD}/published/
  files: [dist/out.txt]
provenance: out/
signing: {keyless: true, signingConfig: "` + s.SigningConfig + `", trustedRoot: "` + s.TrustedRoot + `"}
`,
		})
		in.Env = append(in.Env, "SIGSTORE_ID_TOKEN="+s.Token(t, keylessWho))
		in.MustRun(dir, "plugins", "lock")
		engineMustFail(t, in, dir, []string{"run"}, "env: SIGSTORE_ID_TOKEN would hand the build the means to sign")
		if exists(filepath.Join(dir, "dist")) {
			t.Fatal("the build ran")
		}
	})
}
