package e2e

import (
	"bufio"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mmbuild/mmbuild/internal/testenv"
)

// chatty is a recipe that prints a line every 50 ms for half a minute.
const chatty = `chatty:
	@echo started > chatty-started; for i in $$(seq 600); do echo line $$i; sleep 0.05; done
`

// A run that loses its reader (`mmbuild run | head -3`) or its terminal
// (SIGHUP) ends as SIGTERM ends it: non-zero, soon, its workspace (the
// mmbuild-* folder in the temp folder, materials inside) removed and no
// process of the build left (the install's cleanup checks that).
func TestLosingStdoutOrTerminalRemovesTheWorkspace(t *testing.T) {
	for _, how := range []string{"stdout closed", "SIGHUP"} {
		t.Run(how, func(t *testing.T) {
			in := testenv.NewInstall(t)
			tmp := t.TempDir()
			in.Env = append(in.Env, "TMPDIR="+tmp)
			dir := lockedProject(t, in, "")
			writeFiles(t, dir, map[string]string{"Makefile": chatty + string(mustRead(t, filepath.Join(dir, "Makefile")))})
			cfg := filepath.Join(dir, "mmbuild.yaml")
			writeFiles(t, dir, map[string]string{"mmbuild.yaml": strings.Replace(string(mustRead(t, cfg)), `params: ["all"]`, `params: ["chatty"]`, 1)})
			cmd := in.Command(t.Context(), dir, "run")
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { _ = cmd.Process.Kill() }()
			lines := bufio.NewScanner(out)
			for i := 0; i < 3; i++ { // head -3
				if !lines.Scan() {
					t.Fatalf("mmbuild printed fewer than 3 lines: %v", lines.Err())
				}
			}
			waitFor(t, filepath.Join(dir, "chatty-started"))
			if ws := workspaces(t, tmp); len(ws) != 1 {
				t.Fatalf("want the run's one workspace in %s while it builds, found %v", tmp, ws)
			}
			switch how {
			case "stdout closed":
				_ = out.(interface{ Close() error }).Close()
			case "SIGHUP":
				go func() { // keep reading, so only the signal ends the run
					for lines.Scan() {
					}
				}()
				if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
					t.Fatal(err)
				}
			}
			mustEndFailing(t, cmd, 10*time.Second, how)
			if ws := workspaces(t, tmp); len(ws) != 0 {
				t.Fatalf("the workspace outlived mmbuild after %s: %v", how, ws)
			}
		})
	}
}

// workspaces lists the mmbuild-* folders in tmp.
func workspaces(t *testing.T, tmp string) []string {
	t.Helper()
	ws, err := filepath.Glob(filepath.Join(tmp, "mmbuild-*"))
	if err != nil {
		t.Fatal(err)
	}
	return ws
}
