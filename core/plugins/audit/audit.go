package audit

import (
	"context"
	"debug/buildinfo"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mmbuild/mmbuild/core/plugins/binary"
	"github.com/mmbuild/mmbuild/core/plugins/discovery"
	"github.com/mmbuild/mmbuild/core/plugins/lockfile"
	"github.com/mmbuild/mmbuild/sdk/plugin"
)

// Status is the verdict on one candidate.
type Status string

// Statuses, in the order their rules are checked: the first that applies is
// reported.
const (
	StatusNotExecutable       Status = "not-executable"
	StatusInsecurePermissions Status = "insecure-permissions"
	StatusBroken              Status = "broken"
	StatusShadowed            Status = "shadowed"
	StatusUnpinned            Status = "unpinned"
	StatusChecksumMismatch    Status = "checksum-mismatch"
	StatusIncompatibleAPI     Status = "incompatible-api"
	StatusOK                  Status = "ok"
)

var statusOrder = []Status{
	StatusOK, StatusNotExecutable, StatusInsecurePermissions, StatusBroken,
	StatusShadowed, StatusUnpinned, StatusChecksumMismatch, StatusIncompatibleAPI,
}

// SDKModule is the module path of the plugin SDK, looked up in a binary's
// build info.
const SDKModule = "github.com/mmbuild/mmbuild/sdk"

// Report is what an audit says about one candidate.
type Report struct {
	Name   string `json:"name"`
	Path   string `json:"path"`
	Origin string `json:"origin"` // the search path directory's origin: env, project, user, beside-mmbuild

	// Version is the plugin's own answer when it was described, else its
	// main module's version from the build info.
	Version    string   `json:"version"`
	Kinds      []string `json:"kinds"`       // from describe; empty when not described
	APIVersion int      `json:"api_version"` // from describe; 0 when not described
	// SDKVersion is from describe, else the SDK module's version in the
	// build info ("" when the binary does not use the SDK).
	SDKVersion string `json:"sdk_version"`
	GoVersion  string `json:"go_version"` // from the build info
	Module     string `json:"module"`     // main module path, from the build info

	SHA256        string `json:"sha256"`         // "sha256:<hex>" of the file, "" when it could not be read
	Pinned        string `json:"pinned"`         // the lock's sum for this platform, "" when unpinned
	PinnedVersion string `json:"pinned_version"` // the lock's version, "" when no entry

	Status Status `json:"status"`
	Reason string `json:"reason"` // one line; "" when ok
}

type options struct {
	cacheDir string
	timeout  time.Duration
	platform string
}

// Option configures Audit and Describe.
type Option func(*options)

// WithCacheDir sets the directory of the describe cache; "" disables it.
// Default: DefaultCacheDir().
func WithCacheDir(dir string) Option { return func(o *options) { o.cacheDir = dir } }

// WithDescribeTimeout bounds one `PLUGIN describe`. Default: 5s.
func WithDescribeTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// WithPlatform sets the platform whose pin is checked. Default:
// lockfile.Platform(), the running one.
func WithPlatform(p string) Option { return func(o *options) { o.platform = p } }

func newOptions(opts []Option) *options {
	o := &options{cacheDir: DefaultCacheDir(), timeout: 5 * time.Second, platform: lockfile.Platform()}
	for _, opt := range opts {
		opt(o)
	}
	return o
}

// Audit reports on every candidate, in the order given, checking them
// concurrently (at most GOMAXPROCS at a time). lock may be nil (no lock
// file). See Status for the rules; `describe` is run only for a binary whose
// sha256 matches its pin for this platform, and its answer is cached by
// sha256 (WithCacheDir), so a repeated audit starts no process.
func Audit(ctx context.Context, candidates []discovery.Candidate, lock *lockfile.File, opts ...Option) []Report {
	o := newOptions(opts)
	reports := make([]Report, len(candidates))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(candidates)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				reports[i] = auditOne(ctx, candidates[i], lock, o)
			}
		}()
	}
	for i := range candidates {
		next <- i
	}
	close(next)
	wg.Wait()
	return reports
}

// auditOne reports on one candidate: the facts that need no execution
// first, then the rules in the order of the statuses, the first that fails
// giving the verdict, and describe only for a binary that passed them all.
func auditOne(ctx context.Context, c discovery.Candidate, lock *lockfile.File, o *options) Report {
	r := Report{Name: c.Name, Path: c.Path, Origin: c.Dir.Origin, Kinds: []string{}}
	if err := ctx.Err(); err != nil {
		return withVerdict(r, fail(StatusBroken, "not audited: %v", err))
	}

	// Facts first (none of them executes the file), then the rules in order.
	entry, hasEntry := lookupPin(lock, c.Name)
	if hasEntry {
		r.PinnedVersion = entry.Version
		r.Pinned, _ = entry.Sum(o.platform)
	}
	mode, v := regularFile(c.Path)
	if v != nil {
		return withVerdict(r, v)
	}
	content := readContent(c.Path)
	r.SHA256 = content.sum
	if content.buildErr == nil {
		r = withBuildInfo(r, content.build)
	}
	if v := fileRules(c, mode, content); v != nil {
		return withVerdict(r, v)
	}
	if v := pinRules(r, entry, hasEntry, o.platform); v != nil {
		return withVerdict(r, v)
	}

	// The binary is the one pinned: asking it is the user's decision, made
	// when they locked it.
	return describeRule(ctx, c, r, o)
}

// verdict is a failed rule: the status it gives and why, in one line.
type verdict struct {
	status Status
	reason string
}

// fail returns the verdict s with the reason format says.
func fail(s Status, format string, args ...any) *verdict {
	return &verdict{status: s, reason: oneLine(fmt.Sprintf(format, args...))}
}

// withVerdict returns r with the status and reason of v.
func withVerdict(r Report, v *verdict) Report {
	r.Status, r.Reason = v.status, v.reason
	return r
}

// lookupPin returns the lock's entry for name; lock may be nil (no lock
// file: no entry).
func lookupPin(lock *lockfile.File, name string) (lockfile.Entry, bool) {
	if lock == nil {
		return lockfile.Entry{}, false
	}
	return lock.Pin(name)
}

// regularFile returns the mode of the file at path (through symlinks), or
// the verdict when there is no regular file there to execute.
func regularFile(path string) (fs.FileMode, *verdict) {
	st, err := os.Stat(path)
	if err != nil {
		if target, lerr := os.Readlink(path); lerr == nil && errors.Is(err, fs.ErrNotExist) {
			return 0, fail(StatusNotExecutable, "dangling symlink to %s", target)
		}
		return 0, fail(StatusNotExecutable, "cannot stat: %v", err)
	}
	if !st.Mode().IsRegular() {
		return 0, fail(StatusNotExecutable, "not a regular file (%s)", kind(st.Mode()))
	}
	return st.Mode(), nil
}

// fileContent is what the audit reads from a file without executing it. The
// errors are kept for their rules, which come after the permission rules:
// an unreadable file that others could replace is reported as insecure.
type fileContent struct {
	sum      string // "sha256:<hex>", "" when it could not be read
	sumErr   error
	build    *buildinfo.BuildInfo
	buildErr error
}

// readContent hashes the file at path and reads its Go build info.
func readContent(path string) fileContent {
	var c fileContent
	c.sum, c.sumErr = discovery.SHA256(path)
	c.build, c.buildErr = buildinfo.ReadFile(path)
	return c
}

// withBuildInfo returns r with what the build info bi says: Go version,
// main module and its version, and the SDK's version if the binary uses it.
func withBuildInfo(r Report, bi *buildinfo.BuildInfo) Report {
	r.GoVersion, r.Module, r.Version = bi.GoVersion, bi.Main.Path, bi.Main.Version
	for _, d := range bi.Deps {
		if d.Path == SDKModule {
			r.SDKVersion = d.Version
		}
	}
	return r
}

// fileRules are the rules on the file itself, in order: executable, safe
// from others, readable, a Go binary, and the first of its name in the
// search path. It returns the first that fails, or nil.
func fileRules(c discovery.Candidate, mode fs.FileMode, content fileContent) *verdict {
	if mode.Perm()&0o111 == 0 {
		return fail(StatusNotExecutable, "no execute permission (mode %04o)", mode.Perm())
	}
	if reason := insecure(c); reason != "" {
		return fail(StatusInsecurePermissions, "%s", reason)
	}
	if content.sumErr != nil {
		return fail(StatusBroken, "%v", content.sumErr)
	}
	if biErr := content.buildErr; biErr != nil {
		if inner := errors.Unwrap(biErr); inner != nil {
			biErr = inner // the path is in the report already
		}
		return fail(StatusBroken, "not a Go binary built with the mmbuild SDK (no Go build info: %v)", biErr)
	}
	if c.ShadowedBy != "" {
		return fail(StatusShadowed, "shadowed by %s, found earlier in the search path", c.ShadowedBy)
	}
	return nil
}

// pinRules are the rules against the lock file, in order: an entry, a sum
// for this platform, and that sum matching r.SHA256. It returns the first
// that fails, or nil.
func pinRules(r Report, entry lockfile.Entry, hasEntry bool, platform string) *verdict {
	if !hasEntry {
		return fail(StatusUnpinned, "no entry in %s: run `mmbuild plugins lock`", lockfile.FileName)
	}
	if r.Pinned == "" {
		return fail(StatusUnpinned, "%s pins it for %s only, not %s: run `mmbuild plugins lock`",
			lockfile.FileName, strings.Join(platforms(entry), ", "), platform)
	}
	if r.SHA256 != r.Pinned {
		return fail(StatusChecksumMismatch, "binary %s does not match pinned %s: reinstall the pinned build, or run `mmbuild plugins lock` if the change is expected",
			r.SHA256, r.Pinned)
	}
	return nil
}

// describeRule asks the pinned binary to describe itself, and returns r
// with its answer and the last verdict: ok when it speaks this mmbuild's
// plugin API.
func describeRule(ctx context.Context, c discovery.Candidate, r Report, o *options) Report {
	hex, _ := lockfile.ParseSum(r.SHA256)
	info, err := describe(ctx, c.Path, hex, o)
	if err != nil {
		return withVerdict(r, fail(StatusBroken, "describe failed: %v", err))
	}
	r.Version, r.Kinds, r.APIVersion, r.SDKVersion = info.Version, info.Kinds, info.APIVersion, info.SDKVersion
	if r.Kinds == nil {
		r.Kinds = []string{}
	}
	if info.APIVersion != plugin.APIVersion {
		return withVerdict(r, fail(StatusIncompatibleAPI, "speaks plugin API v%d; this mmbuild speaks v%d", info.APIVersion, plugin.APIVersion))
	}
	r.Status = StatusOK
	return r
}

// insecure returns why the file could be replaced by someone other than
// the user or root, or "": the same rule run applies before it starts a
// plugin (binary.Insecure: the file and every folder above it).
func insecure(c discovery.Candidate) string { return binary.Insecure(c.Path) }

func kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return m.Type().String()
}

func platforms(e lockfile.Entry) []string { return slices.Sorted(maps.Keys(e.Hashes)) }

// OK reports whether every report is ok: what --strict checks.
func OK(reports []Report) bool {
	for _, r := range reports {
		if r.Status != StatusOK {
			return false
		}
	}
	return true
}

// Summary counts the reports by status, in one line:
// "4 plugins: 2 ok, 1 unpinned, 1 shadowed".
func Summary(reports []Report) string {
	count := map[Status]int{}
	for _, r := range reports {
		count[r.Status]++
	}
	noun := "plugins"
	if len(reports) == 1 {
		noun = "plugin"
	}
	var parts []string
	for _, s := range statusOrder {
		if n := count[s]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, s))
		}
	}
	if len(parts) == 0 {
		return fmt.Sprintf("%d %s", len(reports), noun)
	}
	return fmt.Sprintf("%d %s: %s", len(reports), noun, strings.Join(parts, ", "))
}

var newlines = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ")

func oneLine(s string) string { return newlines.Replace(s) }
