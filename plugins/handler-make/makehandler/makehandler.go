package makehandler

import (
	"context"
	_ "embed" // the config schema
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mmbuild/mmbuild/sdk/handler"
	"github.com/mmbuild/mmbuild/sdk/plugin"
)

// Handler runs make. The zero value is not ready: use New.
type Handler struct {
	// killGrace is how long make has, after SIGTERM, before its process
	// group is killed.
	killGrace time.Duration
	// drainGrace is how long the output pipes may stay open after make's
	// process group is gone (held by a process that left the group).
	drainGrace time.Duration
}

var (
	_ handler.Handler = (*Handler)(nil)
	_ plugin.Capabler = (*Handler)(nil)
	_ plugin.Schemer  = (*Handler)(nil)
)

// New returns the make handler. On cancel it gives make 2 s after SIGTERM
// before it kills the process group.
func New() *Handler {
	return &Handler{killGrace: 2 * time.Second, drainGrace: 2 * time.Second}
}

// Capabilities implements plugin.Capabler: make runs in its own process
// group, and nothing of that group outlives Build, cancelled or not; its
// output reaches the request's writers while it runs.
func (*Handler) Capabilities() []string {
	return []string{handler.CapabilityProcessGroup, handler.CapabilityStreamOutput}
}

//go:embed schema.json
var schema []byte

// ConfigSchema implements plugin.Schemer: the JSON Schema of the handler's
// params and options.
func (*Handler) ConfigSchema() json.RawMessage { return json.RawMessage(schema) }

// Build runs make with req.Params as its arguments, after those of the
// options, in req.WorkDir, with exactly req.Env as its environment. make is
// looked up in the PATH of req.Env (absolute entries only), not in the
// plugin's. Its output streams to req.Stdout and req.Stderr as it comes.
//
// Cancelling ctx sends SIGTERM to make's process group, then SIGKILL after
// the grace period; Build then returns ctx's error. Whatever make leaves in
// its process group when it exits is killed as well.
//
// Options: "file" (make -f FILE, a path inside the work tree) and "jobs"
// (make -jN); any other key is refused.
func (h *Handler) Build(ctx context.Context, req *handler.BuildRequest) (*handler.BuildResponse, error) {
	args, err := optionArgs(req.Options)
	if err != nil {
		return nil, err
	}
	if err := checkWorkDir(req.WorkDir); err != nil {
		return nil, err
	}
	path, err := lookPath(req.Env)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("running make: %w", err)
	}
	stdout, stderr := req.Stdout, req.Stderr
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil {
		stderr = io.Discard
	}
	plugin.Logger().Debug("running make", "path", path, "dir", req.WorkDir, "args", len(args)+len(req.Params))
	return h.run(ctx, &command{
		path:   path,
		args:   append(args, req.Params...),
		dir:    req.WorkDir,
		env:    append([]string{}, req.Env...), // never nil: nothing is inherited
		stdout: stdout,
		stderr: stderr,
	})
}

// command is one run of make.
type command struct {
	path           string
	args           []string
	dir            string
	env            []string
	stdout, stderr io.Writer
}

// Option keys.
const (
	optionFile = "file"
	optionJobs = "jobs"
)

// optionArgs turns options into make's arguments, refusing unknown keys.
func optionArgs(options map[string]string) ([]string, error) {
	var unknown []string
	for k := range options {
		if k != optionFile && k != optionJobs {
			unknown = append(unknown, strconv.Quote(k))
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, fmt.Errorf("make handler: unknown option %s (known: %s, %s)", strings.Join(unknown, ", "), optionFile, optionJobs)
	}
	var args []string
	if f, ok := options[optionFile]; ok {
		if !filepath.IsLocal(f) {
			return nil, fmt.Errorf("make handler: option %s: %q is not a relative path inside the work tree", optionFile, f)
		}
		args = append(args, "-f", f)
	}
	if j, ok := options[optionJobs]; ok {
		n, err := strconv.Atoi(j)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("make handler: option %s: %q is not a positive whole number", optionJobs, j)
		}
		args = append(args, "-j"+strconv.Itoa(n))
	}
	return args, nil
}

// checkWorkDir makes a bad work dir a clear error rather than a confusing
// one from exec.
func checkWorkDir(dir string) error {
	if dir == "" {
		return errors.New("make handler: work dir not set")
	}
	if !filepath.IsAbs(dir) {
		return fmt.Errorf("make handler: work dir %q is not an absolute path", dir)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("checking work dir: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("make handler: work dir %s is not a directory", dir)
	}
	return nil
}

// lookPath finds make in the PATH of env, the build's environment. Relative
// entries (and empty ones, which mean ".") are skipped: they would find a
// make planted in the work tree.
func lookPath(env []string) (string, error) {
	pathVar, set, skipped := "", false, false
	for _, kv := range env { // the last one wins, as in os/exec
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			pathVar, set = v, true
		}
	}
	for _, dir := range filepath.SplitList(pathVar) {
		if !filepath.IsAbs(dir) {
			skipped = true
			continue
		}
		p := filepath.Join(dir, "make")
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			return p, nil
		}
	}
	if !set {
		return "", errors.New("make not found in PATH= (PATH is not set in the build environment)")
	}
	if skipped {
		return "", fmt.Errorf("make not found in PATH=%s (relative entries are ignored)", pathVar)
	}
	return "", fmt.Errorf("make not found in PATH=%s", pathVar)
}
