package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/core/evidence/signing"
	"github.com/mmbuild/mmbuild/internal/testenv"
)

// An attestation is data: an honest build whose value is literally
// cost-${HOME} replays as reproducible (replay never expands recorded
// values), --dry-run prints the plan and builds nothing, and a signed
// attestation whose recorded invocation differs from the config at the
// recorded commit is refused before anything runs.
func TestReplayRecordedValuesAreData(t *testing.T) {
	t.Parallel()
	in := testenv.NewInstall(t)
	// Every make run leaves a line here: what ran, outside any workspace.
	runs := filepath.Join(t.TempDir(), "runs.log")
	dir := engineProject(t, map[string]string{
		".gitignore": "/dist/\n/out/\n/build.env\n/mmbuild.lock.hcl\n",
		// The shell, not make, reads COST: its value reaches the artifact
		// exactly as the builder got it.
		"Makefile": "all:\n\t@mkdir -p dist\n\tprintf '%s\\n' \"$$COST\" > dist/cost.txt\n\techo ran >> " + runs + "\n",
		// The run log lies outside the work tree, where the builder's box
		// lets no write through: this test's builds run unboxed.
		"mmbuild.yaml": "handler: {id: make, params: [all]}\nisolation: {mode: off}\n" +
			"env: [{var: COST, value: \"cost-$${HOME}\"}]\n" +
			"artifacts: {files: [\"dist/*\"]}\nprovenance: out/\n",
	})
	engineCommitAll(t, dir, "cost")
	engineMustRun(t, in, dir, "plugins", "lock")
	keys := filepath.Join(t.TempDir(), "keys", "k")
	engineMustRun(t, in, dir, "keys", "generate", "--out", keys)
	engineMustRun(t, in, dir, "run", "--sign-key", keys+".key")
	if got := string(mustRead(t, filepath.Join(dir, "dist/cost.txt"))); got != "cost-${HOME}\n" {
		t.Fatalf("the build wrote %q, want the literal cost-${HOME}", got)
	}
	bundle := filepath.Join(dir, "out/provenance.intoto.jsonl")
	runsAfter := func(want int) {
		t.Helper()
		if n := strings.Count(string(mustRead(t, runs)), "ran\n"); n != want {
			t.Fatalf("make ran %d times, want %d", n, want)
		}
	}
	runsAfter(1)

	// --dry-run: the plan, nothing built.
	r := in.Run(dir, "replay", "--key", keys+".pub", "--dry-run", bundle)
	if r.Code != 0 {
		t.Fatalf("replay --dry-run exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	for _, want := range []string{"replay plan: ", "handler   make", `params    ["all"]`, `COST="cost-${HOME}"`, `HOME="` + in.Home + `"  (the run's own)`, "dry run, nothing built"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("replay --dry-run output lacks %q:\n%s", want, r.Stdout)
		}
	}
	r = in.Run(dir, "replay", "--key", keys+".pub", "--dry-run", "--json", bundle)
	var dry struct {
		DryRun bool `json:"dry_run"`
		Plan   struct {
			Handler string
			Env     []struct{ Name, Value string }
		}
		Subjects []any
	}
	if err := json.Unmarshal([]byte(r.Stdout), &dry); r.Code != 0 || err != nil || !dry.DryRun || dry.Plan.Handler != "make" || dry.Subjects != nil {
		t.Fatalf("replay --dry-run --json: exit %d, %v, %+v\n%s\n%s", r.Code, err, dry, r.Stdout, r.Stderr)
	}
	runsAfter(1)

	// The replay: reproducible, with the value as recorded.
	r = in.Run(dir, "replay", "--key", keys+".pub", "--json", bundle)
	if r.Code != 0 {
		t.Fatalf("replay exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	var res struct {
		Reproducible bool
		Plan         struct {
			Env []struct{ Name, Value string }
		}
	}
	if err := json.Unmarshal([]byte(r.Stdout), &res); err != nil || !res.Reproducible {
		t.Fatalf("replay --json: %v %+v\n%s", err, res, r.Stdout)
	}
	cost := ""
	for _, v := range res.Plan.Env {
		if v.Name == "COST" {
			cost = v.Value
		}
	}
	if cost != "cost-${HOME}" {
		t.Errorf("plan COST = %q", cost)
	}
	if !strings.Contains(r.Stderr, "replay plan: ") {
		t.Errorf("the plan is not printed before the build (stderr with --json):\n%s", r.Stderr)
	}
	runsAfter(2)

	// Signed by the same key, but not what the config at that commit says.
	tests := []struct {
		name   string
		change func(inv map[string]any)
		want   string
	}{
		{name: "undeclared variable", change: func(inv map[string]any) {
			inv["environment"].(map[string]any)["MAKEFLAGS"] = "-j1 --eval=$(shell touch /tmp/x)"
		}, want: "the attestation's environment has MAKEFLAGS, which the config at "},
		{name: "params", change: func(inv map[string]any) {
			inv["parameters"].(map[string]any)["params"] = []any{"all", "COST=evil"}
		}, want: `the attestation's params ["all","COST=evil"] differ from the config at `},
		{name: "value", change: func(inv map[string]any) {
			inv["environment"].(map[string]any)["COST"] = "cost-/home/someone"
		}, want: `the attestation's value of COST "cost-/home/someone" differs from the config at `},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			edited := resign(t, mustRead(t, bundle), keys+".key", tt.change)
			r := in.Run(dir, "replay", "--key", keys+".pub", edited)
			if r.Code != 1 {
				t.Fatalf("replay of an edited attestation: exit %d, want 1\n%s\n%s", r.Code, r.Stdout, r.Stderr)
			}
			if line := errorLine(t, r); !strings.Contains(line, tt.want) {
				t.Errorf("error line: %s\nwant %s", line, tt.want)
			}
			if strings.Contains(r.Stdout, "replay plan") {
				t.Errorf("a plan printed for a refused attestation:\n%s", r.Stdout)
			}
			runsAfter(2)
		})
	}
}

// resign changes the invocation of the provenance statement in bundle and
// signs it again with key: a signed attestation that says something else.
func resign(t *testing.T, bundle []byte, key string, change func(inv map[string]any)) string {
	t.Helper()
	var env struct{ Payload string }
	first, _, _ := bytes.Cut(bundle, []byte("\n"))
	if err := json.Unmarshal(first, &env); err != nil {
		t.Fatal(err)
	}
	payload, err := base64.StdEncoding.DecodeString(env.Payload)
	if err != nil {
		t.Fatal(err)
	}
	var st map[string]any
	if err := json.Unmarshal(payload, &st); err != nil {
		t.Fatal(err)
	}
	change(st["predicate"].(map[string]any)["invocation"].(map[string]any))
	payload, err = json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := signing.LoadSigner(mustRead(t, key))
	if err != nil {
		t.Fatal(err)
	}
	line, err := signing.SignStatement(context.Background(), payload, signer)
	if err != nil {
		t.Fatal(err)
	}
	out, err := signing.Bundle(line)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "edited.intoto.jsonl")
	if err := os.WriteFile(p, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
