package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/mmbuild/mmbuild/core/plugins/binary"
	"github.com/mmbuild/mmbuild/core/plugins/discovery"
	"github.com/mmbuild/mmbuild/core/plugins/lockfile"
	"github.com/mmbuild/mmbuild/sdk/plugin"
)

const (
	maxStdout = 1 << 20  // a describe answer is a few KiB
	maxStderr = 64 << 10 // enough for the last line of a panic
)

// DefaultCacheDir is where describe answers are cached:
// $XDG_CACHE_HOME/mmbuild/describe, default ~/.cache/mmbuild/describe; ""
// (no cache) when neither is known.
func DefaultCacheDir() string {
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "mmbuild", "describe")
	}
	if home := os.Getenv("HOME"); home != "" {
		return filepath.Join(home, ".cache", "mmbuild", "describe")
	}
	return ""
}

// Describe runs `PATH describe` and returns the Info it prints. This
// executes the binary: call it only for a binary the user trusts (pinned, or
// being pinned by `mmbuild plugins lock`).
//
// sha256 is the binary's "sha256:<hex>" as just computed by
// discovery.SHA256 ("" computes it). With the file's name (a bundle of
// plugins is one binary installed under each plugin's name, and describes
// the one it is run as) it keys the cache
// ($XDG_CACHE_HOME/mmbuild/describe/<hex>-<file name>.json, see
// WithCacheDir): a cached answer starts no process. Otherwise the binary is
// opened (refused when anyone but the user or root could change it, a
// *binary.InsecureError), hashed through that descriptor, and must still
// have the sum: the bytes that run are the bytes hashed, as pluginhost
// runs a plugin: from the verified descriptor (binary.File.ExecInherited),
// whatever the path names by then.
// The process gets a clean environment (PATH only), no stdin, its own
// process group, and the describe timeout (WithDescribeTimeout); it fails
// on a non-zero exit, a timeout, invalid JSON or anything printed after it.
// When it ends or is abandoned, whatever it started in its group is killed.
func Describe(ctx context.Context, path, sha256 string, opts ...Option) (*plugin.Info, error) {
	o := newOptions(opts)
	if sha256 == "" {
		var err error
		if sha256, err = discovery.SHA256(path); err != nil {
			return nil, fmt.Errorf("describing %s: %w", path, err)
		}
	}
	hex, err := lockfile.ParseSum(sha256)
	if err != nil {
		return nil, fmt.Errorf("describing %s: %w", path, err)
	}
	info, err := describe(ctx, path, hex, o)
	if err != nil {
		return nil, fmt.Errorf("describing %s: %w", path, err)
	}
	return info, nil
}

// cacheEntry is the content of a cache file.
type cacheEntry struct {
	SHA256 string       `json:"sha256"`
	File   string       `json:"file"` // the binary's file name, which a bundle answers by
	Info   *plugin.Info `json:"info"`
}

func describe(ctx context.Context, path, hex string, o *options) (*plugin.Info, error) {
	cacheFile := ""
	file := filepath.Base(path)
	if o.cacheDir != "" && pluginFileName(file) {
		cacheFile = filepath.Join(o.cacheDir, hex+"-"+file+".json")
		if info := readCache(cacheFile, hex, file); info != nil {
			return info, nil
		}
	}
	out, err := runVerified(ctx, path, hex, o.timeout)
	if err != nil {
		return nil, err
	}
	info, err := parseInfo(out)
	if err != nil {
		return nil, err
	}
	if cacheFile != "" {
		// A cache that cannot be written only costs a process next time.
		_ = writeCache(cacheFile, cacheEntry{SHA256: "sha256:" + hex, File: file, Info: info})
	}
	return info, nil
}

// runVerified opens the binary at path, checks that its bytes have the sum
// hex, and runs `describe` from that open descriptor.
func runVerified(ctx context.Context, path, hex string, timeout time.Duration) ([]byte, error) {
	bin, err := binary.Open(path)
	if err != nil {
		return nil, err
	}
	defer bin.Close()
	sum, err := bin.SHA256(nil)
	if err != nil {
		return nil, err
	}
	if want := "sha256:" + hex; sum != want {
		return nil, fmt.Errorf("binary is %s, not the %s it was checked as: it changed meanwhile", sum, want)
	}
	// The descriptor is inherited (a script's interpreter opens it too).
	execPath, extra := bin.ExecInherited()
	return run(ctx, path, execPath, extra, timeout)
}

// run runs execPath describe, argv[0] being path (a bundle of plugins
// describes the plugin it is run as), with extra as its descriptor 3.
func run(ctx context.Context, path, execPath string, extra *os.File, timeout time.Duration) ([]byte, error) {
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(rctx, execPath, "describe")
	cmd.Args[0] = path
	if extra != nil {
		cmd.ExtraFiles = []*os.File{extra}
	}
	// Its own process group, killed whole: a plugin that hangs in describe
	// (or answers and leaves a child behind) leaves nothing running.
	ownGroup(cmd)
	cmd.Cancel = func() error { return killGroup(cmd) }
	cmd.Env = []string{}
	if p, ok := os.LookupEnv("PATH"); ok {
		cmd.Env = []string{"PATH=" + p}
	}
	stdout, stderr := &capped{max: maxStdout}, &capped{max: maxStderr}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	// A child that keeps the pipes open must not hang the audit.
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	if cmd.Process != nil {
		_ = killGroup(cmd)
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if errors.Is(rctx.Err(), context.DeadlineExceeded) {
		return nil, fmt.Errorf("no answer within %s", timeout)
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		msg := exitErr.ProcessState.String() // "exit status 3", "signal: killed"
		if l := lastLine(stderr.buf.Bytes()); l != "" {
			msg += ": " + l
		}
		return nil, errors.New(msg)
	}
	if err != nil {
		return nil, err
	}
	if stdout.over {
		return nil, fmt.Errorf("printed more than %d bytes", maxStdout)
	}
	return stdout.buf.Bytes(), nil
}

// parseInfo accepts exactly one JSON object, surrounded by white space.
// Unknown fields are allowed: a newer SDK may add some.
func parseInfo(out []byte) (*plugin.Info, error) {
	if len(bytes.TrimSpace(out)) == 0 {
		return nil, errors.New("printed nothing")
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	var info plugin.Info
	if err := dec.Decode(&info); err != nil {
		return nil, fmt.Errorf("printed invalid JSON (%v): %s", err, quote(out))
	}
	if rest := bytes.TrimSpace(out[dec.InputOffset():]); len(rest) > 0 {
		return nil, fmt.Errorf("printed junk after its JSON: %s", quote(rest))
	}
	if !discovery.ValidName(info.Name) {
		return nil, fmt.Errorf("printed no valid plugin name (%q)", info.Name)
	}
	return &info, nil
}

// pluginFileName reports whether file is named as discovery names a
// plugin (mmbuild-plugin-<valid name>): only such a name, free of any path
// or odd character, goes into a cache file's name.
func pluginFileName(file string) bool {
	name, ok := strings.CutPrefix(file, plugin.BinaryPrefix)
	return ok && discovery.ValidName(name)
}

func readCache(cacheFile, hex, file string) *plugin.Info {
	b, err := os.ReadFile(cacheFile)
	if err != nil {
		return nil
	}
	var e cacheEntry
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if dec.Decode(&e) != nil || e.SHA256 != "sha256:"+hex || e.File != file || e.Info == nil || !discovery.ValidName(e.Info.Name) {
		return nil // corrupt or foreign: ignored, and rewritten after describe
	}
	return e.Info
}

func writeCache(file string, e cacheEntry) (err error) {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	dir := filepath.Dir(file)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".describe-*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(append(b, '\n')); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), file)
}

// capped keeps the first max bytes written and notes any excess.
type capped struct {
	buf  bytes.Buffer
	max  int
	over bool
}

func (c *capped) Write(p []byte) (int, error) {
	n := len(p)
	if room := c.max - c.buf.Len(); room < n {
		c.over = true
		p = p[:max(room, 0)]
	}
	c.buf.Write(p)
	return n, nil
}

// lastLine explains a failure in one line: the panic if there was one (it
// says more than the last frame of its trace), else the last line printed.
func lastLine(b []byte) string {
	lines := strings.Split(string(b), "\n")
	for _, l := range lines {
		if strings.HasPrefix(l, "panic:") || strings.HasPrefix(l, "fatal error:") {
			return strings.TrimSpace(l)
		}
	}
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" {
			return l
		}
	}
	return ""
}

// quote shows at most 80 bytes of b, quoted.
func quote(b []byte) string {
	if len(b) > 80 {
		return fmt.Sprintf("%q…", b[:80])
	}
	return fmt.Sprintf("%q", b)
}
