//go:build unix

package sdktest_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/mmbuild/mmbuild/sdk/handler"
	"github.com/mmbuild/mmbuild/sdk/plugin"
	"github.com/mmbuild/mmbuild/sdk/sdktest"
)

// shHandler runs Params[0] with /bin/sh in its own process group: the
// smallest handler that keeps the contract, to show the suite can be met.
type shHandler struct{}

func (shHandler) Build(ctx context.Context, req *handler.BuildRequest) (*handler.BuildResponse, error) {
	if len(req.Options) > 0 {
		return nil, errors.New("sh handler takes no options")
	}
	if len(req.Params) != 1 {
		return nil, fmt.Errorf("sh handler takes one param, the script; got %d", len(req.Params))
	}
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", req.Params[0])
	cmd.Dir = req.WorkDir
	cmd.Env = append([]string{}, req.Env...)
	cmd.Stdout, cmd.Stderr = req.Stdout, req.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	if ctx.Err() != nil {
		return nil, fmt.Errorf("running sh: %w", ctx.Err())
	}
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		return nil, fmt.Errorf("running sh: %w", err)
	}
	return &handler.BuildResponse{ExitCode: cmd.ProcessState.ExitCode()}, nil
}

var shCases = sdktest.HandlerCases{
	HandlerID: "sh",
	Setup: func(t testing.TB, dir string) {
		if err := os.WriteFile(filepath.Join(dir, "project"), []byte("sh\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	},
	Succeed:    []string{"test -f project && echo sdktest-stdout && echo sdktest-stderr >&2"},
	Fail:       []string{"exit 3"},
	PrintEnv:   []string{"env"},
	BuilderEnv: []string{"PWD"}, // dash and bash export it
	Sleep:      []string{`echo sdktest-started; sleep 60 & echo $! $$ > "$SDKTEST_PIDFILE"; wait`},
}

func TestHandlerInProcess(t *testing.T) {
	sdktest.Handler(t, shHandler{}, shCases)
}

func TestHandlerOverWire(t *testing.T) {
	conn := sdktest.Serve(t, plugin.WithName("sh"), plugin.WithHandler("sh", shHandler{}))
	sdktest.Handler(t, conn.Handler(), shCases)
}
