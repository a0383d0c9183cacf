package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mmbuild/mmbuild/core/plugins/discovery"
	"github.com/mmbuild/mmbuild/core/plugins/lockfile"
	"github.com/mmbuild/mmbuild/sdk/plugin"
)

// lockAll pins every candidate's current binary for this platform.
func lockAll(t *testing.T, lock *lockfile.File, paths ...string) {
	t.Helper()
	for _, p := range paths {
		sum, err := discovery.SHA256(p)
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimPrefix(filepath.Base(p), plugin.BinaryPrefix)
		if err := lock.Set(name, "1.0.0", lockfile.Platform(), sum); err != nil {
			t.Fatal(err)
		}
	}
}

func appendByte(t *testing.T, path string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte{0}); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestAuditStatuses(t *testing.T) {
	sdkBin, fakeBin := testBinaries(t)
	root := t.TempDir()
	env := discovery.Dir{Path: filepath.Join(root, "env"), Origin: discovery.OriginEnv}
	open := discovery.Dir{Path: filepath.Join(root, "open"), Origin: discovery.OriginProject}
	user := discovery.Dir{Path: filepath.Join(root, "user"), Origin: discovery.OriginUser}

	lock := lockfile.New()
	ok := install(t, sdkBin, env.Path, "ok")
	shadowing := install(t, sdkBin, env.Path, "shadow")
	good := install(t, fakeBin, env.Path, "good")
	mismatch := install(t, fakeBin, env.Path, "mismatch")
	noexec := install(t, sdkBin, env.Path, "noexec")
	insecureFile := install(t, sdkBin, env.Path, "insecure")
	script := filepath.Join(env.Path, "mmbuild-plugin-script")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho '{\"name\":\"script\",\"api_version\":1}'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	junk := install(t, fakeBin, env.Path, "junk")
	fail := install(t, fakeBin, env.Path, "fail")
	api2 := install(t, fakeBin, env.Path, "api2")
	install(t, fakeBin, env.Path, "unpinned")
	other := install(t, fakeBin, env.Path, "otherplatform")
	inOpenDir := install(t, sdkBin, open.Path, "inopendir")
	shadowed := install(t, sdkBin, user.Path, "shadow")
	lockAll(t, lock, ok, shadowing, shadowed, good, mismatch, noexec, insecureFile, script, junk, fail, api2, inOpenDir)
	otherSum, _ := discovery.SHA256(other)
	if err := lock.Set("otherplatform", "1.0.0", "plan9_386", otherSum); err != nil {
		t.Fatal(err)
	}
	appendByte(t, mismatch)
	must(t, os.Chmod(noexec, 0o644))
	must(t, os.Chmod(insecureFile, 0o777))
	must(t, os.Chmod(open.Path, 0o777))

	owned := ""
	if os.Getuid() == 0 { // root can give a file away: another user's binary is insecure
		owned = install(t, sdkBin, env.Path, "owned")
		lockAll(t, lock, owned)
		must(t, os.Chown(owned, 4242, 4242))
	}

	cands, err := discovery.Scan([]discovery.Dir{env, open, user})
	if err != nil {
		t.Fatal(err)
	}
	reports := Audit(context.Background(), cands, lock, WithCacheDir(""))
	if len(reports) != len(cands) {
		t.Fatalf("%d reports for %d candidates", len(reports), len(cands))
	}
	byPath := map[string]Report{}
	for i, r := range reports {
		if r.Path != cands[i].Path || r.Name != cands[i].Name || r.Origin != cands[i].Dir.Origin {
			t.Errorf("report %d is for %s, candidate is %s", i, r.Path, cands[i].Path)
		}
		if strings.ContainsAny(r.Reason, "\r\n") {
			t.Errorf("%s: reason spans lines: %q", r.Name, r.Reason)
		}
		if (r.Status == StatusOK) != (r.Reason == "") {
			t.Errorf("%s: status %s with reason %q", r.Name, r.Status, r.Reason)
		}
		byPath[r.Path] = r
	}

	sum := func(p string) string { s, _ := discovery.SHA256(p); return s }
	pin := func(p string) string {
		e, _ := lock.Pin(strings.TrimPrefix(filepath.Base(p), plugin.BinaryPrefix))
		s, _ := e.Sum(lockfile.Platform())
		return s
	}
	for _, tc := range []struct {
		path   string
		status Status
		reason []string
	}{
		{ok, StatusOK, nil},
		{shadowing, StatusOK, nil},
		{good, StatusOK, nil},
		{shadowed, StatusShadowed, []string{"shadowed by " + shadowing}},
		{mismatch, StatusChecksumMismatch, []string{"binary " + sum(mismatch) + " does not match pinned " + pin(mismatch)}},
		{noexec, StatusNotExecutable, []string{"no execute permission (mode 0644)"}},
		{insecureFile, StatusInsecurePermissions, []string{"writable by group or others (mode 0777)"}},
		{inOpenDir, StatusInsecurePermissions, []string{"directory " + open.Path + " is writable by group or others (mode 0777)"}},
		{script, StatusBroken, []string{"not a Go binary built with the mmbuild SDK"}},
		{junk, StatusBroken, []string{"describe failed: printed junk after its JSON", "Hello from a plugin"}},
		{fail, StatusBroken, []string{"describe failed: exit status 3: boom: cannot describe"}},
		{api2, StatusIncompatibleAPI, []string{"speaks plugin API v2; this mmbuild speaks v1"}},
		{filepath.Join(env.Path, "mmbuild-plugin-unpinned"), StatusUnpinned, []string{"no entry in mmbuild.lock.hcl: run `mmbuild plugins lock`"}},
		{other, StatusUnpinned, []string{"pins it for plan9_386 only, not " + lockfile.Platform()}},
		{owned, StatusInsecurePermissions, []string{"owned by uid 4242"}},
	} {
		if tc.path == "" {
			continue
		}
		r, found := byPath[tc.path]
		if !found {
			t.Errorf("no report for %s", tc.path)
			continue
		}
		if r.Status != tc.status {
			t.Errorf("%s: status %s (%s), want %s", r.Name, r.Status, r.Reason, tc.status)
		}
		for _, want := range tc.reason {
			if !strings.Contains(r.Reason, want) {
				t.Errorf("%s: reason %q does not contain %q", r.Name, r.Reason, want)
			}
		}
	}

	// A described plugin built with the SDK: everything is known.
	r := byPath[ok]
	want := Report{
		Name: "ok", Path: ok, Origin: discovery.OriginEnv,
		Version: "devel", Kinds: []string{"storage:x"}, APIVersion: plugin.APIVersion, SDKVersion: plugin.SDKVersion,
		GoVersion: runtime.Version(), Module: "example.com/sdkplugin",
		SHA256: sum(ok), Pinned: sum(ok), PinnedVersion: "1.0.0", Status: StatusOK,
	}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("ok report:\n got %+v\nwant %+v", r, want)
	}
	// A binary that is not run: what the build info says, nothing more.
	r = byPath[mismatch]
	if r.Version != "(devel)" || r.Module != "example.com/fakeplugin" || r.GoVersion != runtime.Version() ||
		len(r.Kinds) != 0 || r.APIVersion != 0 || r.SDKVersion != "" || r.Pinned != pin(mismatch) || r.SHA256 != sum(mismatch) {
		t.Errorf("mismatch report: %+v", r)
	}
	if r := byPath[shadowed]; r.Module != "example.com/sdkplugin" || r.SDKVersion != "v0.0.0" || len(r.Kinds) != 0 {
		t.Errorf("shadowed report: %+v", r)
	}
	if r := byPath[api2]; r.APIVersion != 2 || r.Version != "9.0.0" || !slices.Equal(r.Kinds, []string{"storage:api2"}) {
		t.Errorf("api2 report: %+v", r)
	}

	// Trust: only binaries matching their pin were executed.
	got := executed(t, env.Path)
	slices.Sort(got)
	if want := []string{"api2", "fail", "good", "junk"}; !slices.Equal(got, want) {
		t.Errorf("executed %v, want exactly %v (never an unpinned or mismatching binary)", got, want)
	}

	if OK(reports) {
		t.Error("OK() = true with failures")
	}
	wantSummary := "14 plugins: 3 ok, 1 not-executable, 2 insecure-permissions, 3 broken, 1 shadowed, 2 unpinned, 1 checksum-mismatch, 1 incompatible-api"
	if owned != "" {
		wantSummary = strings.Replace(strings.Replace(wantSummary, "14 plugins", "15 plugins", 1), "2 insecure", "3 insecure", 1)
	}
	if s := Summary(reports); s != wantSummary {
		t.Errorf("Summary = %q, want %q", s, wantSummary)
	}
	for _, r := range reports {
		t.Logf("%-14s %-20s %-8s %s", r.Name, r.Status, r.Version, r.Reason)
	}
	// JSON for `plugins list --json`: snake_case, kinds always a list.
	b, err := json.Marshal(byPath[mismatch])
	must(t, err)
	for _, key := range []string{`"kinds":[]`, `"api_version":0`, `"pinned_version":"1.0.0"`, `"status":"checksum-mismatch"`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("JSON %s lacks %s", b, key)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestAuditWithoutLock(t *testing.T) {
	sdkBin, _ := testBinaries(t)
	dir := discovery.Dir{Path: t.TempDir(), Origin: discovery.OriginUser}
	install(t, sdkBin, dir.Path, "x")
	cands, _ := discovery.Scan([]discovery.Dir{dir})
	for _, lock := range []*lockfile.File{nil, lockfile.New()} {
		r := Audit(context.Background(), cands, lock, WithCacheDir(""))
		if len(r) != 1 || r[0].Status != StatusUnpinned || r[0].Pinned != "" || r[0].PinnedVersion != "" {
			t.Errorf("lock %v: %+v", lock, r)
		}
	}
}

func TestAuditNotExecutable(t *testing.T) {
	dir := discovery.Dir{Path: t.TempDir(), Origin: discovery.OriginEnv}
	must(t, os.Mkdir(filepath.Join(dir.Path, "mmbuild-plugin-dir"), 0o755))
	must(t, os.Symlink(filepath.Join(dir.Path, "gone"), filepath.Join(dir.Path, "mmbuild-plugin-dangling")))
	cands, err := discovery.Scan([]discovery.Dir{dir})
	must(t, err)
	reports := Audit(context.Background(), cands, nil, WithCacheDir(""))
	want := map[string]string{
		"dangling": "dangling symlink to " + filepath.Join(dir.Path, "gone"),
		"dir":      "not a regular file (a directory)",
	}
	for _, r := range reports {
		if r.Status != StatusNotExecutable || r.Reason != want[r.Name] {
			t.Errorf("%s: %s %q, want not-executable %q", r.Name, r.Status, r.Reason, want[r.Name])
		}
	}
	if len(reports) != 2 {
		t.Errorf("%d reports", len(reports))
	}
}

func TestAuditCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	cands := []discovery.Candidate{{Name: "x", Path: "/nonexistent/mmbuild-plugin-x"}}
	r := Audit(ctx, cands, nil, WithCacheDir(""))
	if len(r) != 1 || r[0].Status != StatusBroken || !strings.Contains(r[0].Reason, "context canceled") {
		t.Errorf("%+v", r)
	}
	if r := Audit(ctx, nil, nil); len(r) != 0 {
		t.Errorf("no candidates: %v", r)
	}
}

func TestDescribeCache(t *testing.T) {
	_, fakeBin := testBinaries(t)
	dir := t.TempDir()
	cache := filepath.Join(t.TempDir(), "cache")
	bin := install(t, fakeBin, dir, "counted")
	sum, err := discovery.SHA256(bin)
	must(t, err)
	hex, _ := lockfile.ParseSum(sum)
	cacheFile := filepath.Join(cache, hex+"-mmbuild-plugin-counted.json")
	ctx := context.Background()

	info, err := Describe(ctx, bin, sum, WithCacheDir(cache))
	must(t, err)
	if info.Name != "counted" || info.APIVersion != 1 || !slices.Equal(info.Kinds, []string{"storage:counted"}) {
		t.Errorf("Describe = %+v", info)
	}
	if _, err := os.Stat(cacheFile); err != nil {
		t.Fatalf("no cache file: %v", err)
	}
	// Cached: no process, even through Audit, however often.
	again, err := Describe(ctx, bin, sum, WithCacheDir(cache))
	must(t, err)
	if !reflect.DeepEqual(again, info) {
		t.Errorf("cached answer %+v differs from %+v", again, info)
	}
	lock := lockfile.New()
	lockAll(t, lock, bin)
	cands, _ := discovery.Scan([]discovery.Dir{{Path: dir, Origin: discovery.OriginUser}})
	for range 3 {
		if r := Audit(ctx, cands, lock, WithCacheDir(cache)); r[0].Status != StatusOK || r[0].Version != "1.2.3" {
			t.Errorf("audit from the cache: %+v", r[0])
		}
	}
	if n := len(executed(t, dir)); n != 1 {
		t.Errorf("binary ran %d times, want 1", n)
	}

	// A corrupt cache file is ignored and rewritten.
	for _, corrupt := range []string{"{not json", `{"sha256":"sha256:` + strings.Repeat("0", 64) + `","info":{"name":"x"}}`, `{"sha256":"` + sum + `","info":null}`} {
		must(t, os.WriteFile(cacheFile, []byte(corrupt), 0o600))
		info2, err := Describe(ctx, bin, sum, WithCacheDir(cache))
		must(t, err)
		if !reflect.DeepEqual(info2, info) {
			t.Errorf("after corrupt cache %q: %+v", corrupt, info2)
		}
		if _, err := Describe(ctx, bin, sum, WithCacheDir(cache)); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(executed(t, dir)); n != 4 {
		t.Errorf("binary ran %d times, want 4 (once more per corrupt cache file)", n)
	}
	entries, _ := os.ReadDir(cache)
	if len(entries) != 1 {
		t.Errorf("cache dir holds %d entries, want 1 (temporary files left?)", len(entries))
	}

	// Without a cache, every call runs the binary; "" computes the sum.
	_, err = Describe(ctx, bin, "", WithCacheDir(""))
	must(t, err)
	if n := len(executed(t, dir)); n != 5 {
		t.Errorf("binary ran %d times, want 5", n)
	}
	// The same bytes under another name (a bundle's other plugin) are
	// described, and cached, as that name.
	other := install(t, fakeBin, dir, "other")
	for range 2 {
		o, err := Describe(ctx, other, sum, WithCacheDir(cache))
		if err != nil || o.Name != "other" {
			t.Fatalf("the same binary as mmbuild-plugin-other: %+v, %v", o, err)
		}
	}
	if n := len(executed(t, dir)); n != 6 {
		t.Errorf("binary ran %d times, want 6 (once for the second name)", n)
	}
	// A malformed sum never reaches the file system.
	if _, err := Describe(ctx, bin, "sha256:../../etc/passwd", WithCacheDir(cache)); err == nil || !strings.Contains(err.Error(), "malformed sum") {
		t.Errorf("malformed sum: %v", err)
	}
}

func TestDescribeFailures(t *testing.T) {
	_, fakeBin := testBinaries(t)
	dir := t.TempDir()
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		want string
	}{
		{"slow", "no answer within 300ms"},
		{"panic", "exit status 2: panic: kaput"},
		{"big", "printed more than 1048576 bytes"},
		{"fail", "exit status 3: boom: cannot describe"},
		{"junk", `printed junk after its JSON: "Hello from a plugin that prints to stdout"`},
	} {
		bin := install(t, fakeBin, dir, tc.name)
		// Only the slow plugin is meant to meet the deadline: the others
		// get one a loaded machine (the race detector, 2 cores) cannot
		// miss, so that each fails for its own reason.
		timeout := 20 * time.Second
		if tc.name == "slow" {
			timeout = 300 * time.Millisecond
		}
		start := time.Now()
		_, err := Describe(ctx, bin, "", WithCacheDir(""), WithDescribeTimeout(timeout))
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "describing "+bin+": ") {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
		if d := time.Since(start); tc.name == "slow" && d > 3*time.Second {
			t.Errorf("%s took %s", tc.name, d)
		}
	}
	// The caller's cancellation is reported as such.
	cctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	_, err := Describe(cctx, filepath.Join(dir, "mmbuild-plugin-slow"), "", WithCacheDir(""))
	if err == nil || !strings.Contains(err.Error(), "context deadline exceeded") {
		t.Errorf("canceled: %v", err)
	}
}

func TestParseInfo(t *testing.T) {
	for _, tc := range []struct{ out, want string }{
		{`{"name":"x","api_version":1}`, ""},
		{"\n  {\"name\":\"x\"}\n\n", ""},
		{"", "printed nothing"},
		{"   \n", "printed nothing"},
		{"hello {\"name\":\"x\"}", "printed invalid JSON"},
		{`["x"]`, "printed invalid JSON"},
		{`{"name":"x"} {"name":"y"}`, "printed junk after its JSON"},
		{`{"name":"X Y"}`, "printed no valid plugin name"},
		{`{}`, "printed no valid plugin name"},
		{`{"name":"x","api_version":"1"}`, "printed invalid JSON"},
	} {
		_, err := parseInfo([]byte(tc.out))
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("parseInfo(%q) = %v, want %q", tc.out, err, tc.want)
		}
	}
}

func TestDefaultCacheDir(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", "/xdg/cache")
	t.Setenv("HOME", "/home/u")
	if got := DefaultCacheDir(); got != "/xdg/cache/mmbuild/describe" {
		t.Errorf("with XDG_CACHE_HOME: %s", got)
	}
	t.Setenv("XDG_CACHE_HOME", "relative")
	if got := DefaultCacheDir(); got != "/home/u/.cache/mmbuild/describe" {
		t.Errorf("relative XDG_CACHE_HOME: %s", got)
	}
	t.Setenv("XDG_CACHE_HOME", "")
	t.Setenv("HOME", "")
	if got := DefaultCacheDir(); got != "" {
		t.Errorf("nothing known: %q", got)
	}
}

func TestSummaryAndOK(t *testing.T) {
	rs := []Report{{Status: StatusUnpinned}, {Status: StatusOK}, {Status: StatusShadowed}, {Status: StatusOK}}
	if got, want := Summary(rs), "4 plugins: 2 ok, 1 shadowed, 1 unpinned"; got != want {
		t.Errorf("Summary = %q, want %q", got, want)
	}
	if OK(rs) || !OK(rs[1:2]) || !OK(nil) {
		t.Error("OK")
	}
	if got := Summary(rs[1:2]); got != "1 plugin: 1 ok" {
		t.Errorf("Summary = %q", got)
	}
	if got := Summary(nil); got != "0 plugins" {
		t.Errorf("Summary(nil) = %q", got)
	}
}

func ExampleSummary() {
	reports := []Report{{Status: StatusOK}, {Status: StatusUnpinned}, {Status: StatusOK}}
	fmt.Println(Summary(reports))
	fmt.Println(OK(reports))
	// Output:
	// 3 plugins: 2 ok, 1 unpinned
	// false
}
