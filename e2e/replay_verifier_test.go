package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/internal/testenv"
)

// A verifier who is not the builder replays from a folder of its own, with
// no lock file: the plugins are those the attestation records, found among
// the installed ones by name and sha256. A recorded plugin that is not
// installed, or installed as another build, is named in the error.
func TestReplayWithoutALockUsesTheRecordedPlugins(t *testing.T) {
	t.Parallel()
	in := testenv.NewInstall(t)
	dir, key, pub := trustHello(t, in)
	engineMustRun(t, in, dir, "run", "--sign-key", key)
	bundle := filepath.Join(dir, "out/provenance.intoto.jsonl")
	elsewhere := t.TempDir()

	r := in.Run(elsewhere, "replay", "--key", pub, bundle)
	if r.Code != 0 || !strings.Contains(r.Stdout, ": reproducible") {
		t.Fatalf("replay from a folder without a lock: exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}

	makePlugin := filepath.Join(in.BinDir, "mmbuild-plugin-make")
	recorded, installed := tamper(t, makePlugin)
	r = in.Run(elsewhere, "replay", "--key", pub, bundle)
	line := errorLine(t, r)
	if r.Code != 1 || !strings.Contains(line, `recorded but installed differently: "make" (binary is `+installed+" but the attestation records "+recorded+")") {
		t.Errorf("replay with a different make plugin: exit %d, error line:\n%s", r.Code, line)
	}

	if err := os.Remove(makePlugin); err != nil {
		t.Fatal(err)
	}
	r = in.Run(elsewhere, "replay", "--key", pub, bundle)
	line = errorLine(t, r)
	if r.Code != 1 || !strings.Contains(line, `recorded but not installed: "make" `) || !strings.Contains(line, recorded) {
		t.Errorf("replay without the make plugin: exit %d, error line:\n%s", r.Code, line)
	}
}
