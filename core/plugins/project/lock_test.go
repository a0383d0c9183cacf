package project

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/core/plugins/audit"
	"github.com/mmbuild/mmbuild/core/plugins/discovery"
	"github.com/mmbuild/mmbuild/core/plugins/lockfile"
	"github.com/mmbuild/mmbuild/sdk/plugin"
)

func TestChoose(t *testing.T) {
	cand := func(name, path, shadowedBy string) discovery.Candidate {
		return discovery.Candidate{Name: name, Path: path, ShadowedBy: shadowedBy}
	}
	cands := []discovery.Candidate{
		cand("make", "/a/mmbuild-plugin-make", ""),
		cand("file", "/a/mmbuild-plugin-file", ""),
		cand("make", "/b/mmbuild-plugin-make", "/a/mmbuild-plugin-make"),
		cand("s3", "/b/mmbuild-plugin-s3", ""), // not runnable
	}
	runnable := func(p string) bool { return !strings.HasSuffix(p, "-s3") }
	for _, tc := range []struct {
		name        string
		names       []string
		wantPaths   []string
		wantMissing []string
	}{
		{"all winners", nil, []string{"/a/mmbuild-plugin-make", "/a/mmbuild-plugin-file"}, nil},
		{"by name", []string{"file"}, []string{"/a/mmbuild-plugin-file"}, nil},
		{"a name twice", []string{"make", "make"}, []string{"/a/mmbuild-plugin-make"}, nil},
		{"not runnable is missing", []string{"s3", "file"}, []string{"/a/mmbuild-plugin-file"}, []string{"s3"}},
		{"missing, sorted", []string{"zz", "aa", "make"}, []string{"/a/mmbuild-plugin-make"}, []string{"aa", "zz"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			chosen, missing := choose(cands, tc.names, runnable)
			var paths []string
			for _, c := range chosen {
				paths = append(paths, c.Path)
			}
			if !reflect.DeepEqual(paths, tc.wantPaths) || !reflect.DeepEqual(missing, tc.wantMissing) {
				t.Errorf("choose(%v) = %v, missing %v; want %v, missing %v", tc.names, paths, missing, tc.wantPaths, tc.wantMissing)
			}
		})
	}
	if chosen, missing := choose(nil, nil, runnable); chosen != nil || missing != nil {
		t.Errorf("choose(nothing) = %v, %v", chosen, missing)
	}
}

func TestPinState(t *testing.T) {
	for _, tc := range []struct {
		previous string
		want     PinState
	}{
		{"", Pinned},
		{"sha256:aa", Unchanged},
		{"sha256:bb", Updated},
	} {
		if got := (Pin{SHA256: "sha256:aa", Previous: tc.previous}).State(); got != tc.want {
			t.Errorf("previous %q: %s, want %s", tc.previous, got, tc.want)
		}
	}
}

func TestNotFoundError(t *testing.T) {
	for _, tc := range []struct {
		names []string
		want  string
	}{
		{[]string{"s3"}, `plugin "s3" not found on the search path`},
		{[]string{"a", "b"}, `plugins "a", "b" not found on the search path`},
	} {
		err := error(&NotFoundError{Names: tc.names})
		if err.Error() != tc.want || !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%v: %q, want %q and fs.ErrNotExist", tc.names, err, tc.want)
		}
	}
}

// fakePlugin writes a shell script that describes itself as a plugin
// serving storage:<name>.
func fakePlugin(t *testing.T, dir, name, version string, api int) string {
	t.Helper()
	return fakePluginKinds(t, dir, name, version, api, "storage:"+name)
}

// fakePluginKinds writes a shell script that describes itself as a plugin
// serving kinds ("capability=X" entries are announced as capabilities
// instead). Each run appends the plugin's name to runs.log in dir (see
// runs).
func fakePluginKinds(t *testing.T, dir, name, version string, api int, kinds ...string) string {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("shell script plugins")
	}
	var ks, caps []string
	for _, k := range kinds {
		if c, ok := strings.CutPrefix(k, "capability="); ok {
			caps = append(caps, c)
		} else {
			ks = append(ks, k)
		}
	}
	kindsJSON, err := json.Marshal(ks)
	if err != nil {
		t.Fatal(err)
	}
	capsJSON, err := json.Marshal(caps)
	if err != nil {
		t.Fatal(err)
	}
	info := fmt.Sprintf(`{"name":%q,"version":%q,"api_version":%d,"kinds":%s,"capabilities":%s}`, name, version, api, kindsJSON, capsJSON)
	p := filepath.Join(dir, plugin.BinaryPrefix+name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	script := "#!/bin/sh\necho " + name + " >> '" + filepath.Join(dir, "runs.log") + "'\necho '" + info + "'\n"
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// runs returns the names of the fake plugins in dir that ran, in order, and
// forgets them.
func runs(t *testing.T, dir string) []string {
	t.Helper()
	log := filepath.Join(dir, "runs.log")
	b, err := os.ReadFile(log)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(log); err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(b))
}

// lockProject is a project folder with its own plugin folder, isolated
// from the user's plugins and describe cache.
func lockProject(t *testing.T) (*Plugins, string) {
	t.Helper()
	dir := t.TempDir()
	p, err := Open(dir, isolated(t), WithAuditOptions(audit.WithCacheDir("")))
	if err != nil {
		t.Fatal(err)
	}
	return p, filepath.Join(dir, ".mmbuild", "plugins")
}

func TestUpdateLock(t *testing.T) {
	p, plugins := lockProject(t)
	ctx := context.Background()
	if _, err := p.UpdateLock(ctx, nil); !errors.Is(err, ErrNothingToLock) {
		t.Fatalf("empty search path: %v", err)
	}
	a := fakePlugin(t, plugins, "alpha", "1.0.0", plugin.APIVersion)
	fakePlugin(t, plugins, "beta", "2.0.0", plugin.APIVersion)

	res, err := p.UpdateLock(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Path != p.LockPath || res.Platform != lockfile.Platform() || len(res.Pins) != 2 ||
		res.Pins[0].Name != "alpha" || res.Pins[0].Version != "1.0.0" || res.Pins[0].State() != Pinned {
		t.Fatalf("first lock: %+v", res)
	}
	lock, err := lockfile.Load(p.LockPath)
	if err != nil {
		t.Fatal(err)
	}
	if e, ok := lock.Pin("beta"); !ok || e.Version != "2.0.0" || e.Hashes[res.Platform] != res.Pins[1].SHA256 {
		t.Fatalf("lock file: %+v", e)
	}

	if res, err = p.UpdateLock(ctx, []string{"alpha"}); err != nil || len(res.Pins) != 1 || res.Pins[0].State() != Unchanged {
		t.Fatalf("relock alpha: %+v, %v", res, err)
	}
	old := res.Pins[0].SHA256
	fakePlugin(t, plugins, "alpha", "1.1.0", plugin.APIVersion)
	if res, err = p.UpdateLock(ctx, []string{"alpha"}); err != nil || res.Pins[0].State() != Updated || res.Pins[0].Previous != old {
		t.Fatalf("alpha changed: %+v, %v", res, err)
	}
	if res.Pins[0].Path != a {
		t.Errorf("path %s, want %s", res.Pins[0].Path, a)
	}
}

// A refusal writes nothing.
func TestUpdateLockRefused(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		names []string
		want  string
	}{
		{"other API version", nil, "speaks plugin API v99"},
		{"unknown name", []string{"ok", "nope"}, `plugin "nope" not found on the search path`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, plugins := lockProject(t)
			fakePlugin(t, plugins, "ok", "1.0.0", plugin.APIVersion)
			fakePlugin(t, plugins, "future", "9.0.0", 99)
			_, err := p.UpdateLock(ctx, tc.names)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("UpdateLock(%v) = %v, want %q", tc.names, err, tc.want)
			}
			if _, err := os.Stat(p.LockPath); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("a lock file was written: %v", err)
			}
		})
	}
}

// UpdateLock records what each plugin serves, sorted, and keeps the kinds of
// the plugins it does not lock this time.
func TestUpdateLockKinds(t *testing.T) {
	p, plugins := lockProject(t)
	ctx := context.Background()
	fakePluginKinds(t, plugins, "web", "1.0.0", plugin.APIVersion, "storage:https", "storage:http")
	fakePluginKinds(t, plugins, "builder", "1.0.0", plugin.APIVersion, "handler:make")
	res, err := p.UpdateLock(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Pins[1].Kinds; res.Pins[1].Name != "web" || !reflect.DeepEqual(got, []string{"storage:http", "storage:https"}) {
		t.Errorf("pin %s kinds %q", res.Pins[1].Name, got)
	}
	want := map[string][]string{"builder": {"handler:make"}, "web": {"storage:http", "storage:https"}}
	check := func(when string) {
		t.Helper()
		lock, err := lockfile.Load(p.LockPath)
		if err != nil {
			t.Fatal(err)
		}
		for name, kinds := range want {
			for _, f := range []*lockfile.File{lock, p.LockFile} {
				if e, _ := f.Pin(name); !reflect.DeepEqual(e.Kinds, kinds) {
					t.Errorf("%s: %s records %q, want %q", when, name, e.Kinds, kinds)
				}
			}
		}
	}
	check("first lock")

	// A new version that serves one more scheme, locked alone.
	fakePluginKinds(t, plugins, "web", "1.1.0", plugin.APIVersion, "storage:https", "storage:http", "storage:ftp")
	if _, err := p.UpdateLock(ctx, []string{"web"}); err != nil {
		t.Fatal(err)
	}
	want["web"] = []string{"storage:ftp", "storage:http", "storage:https"}
	check("web relocked")

	// Kinds move between two plugins locked together: no conflict.
	fakePluginKinds(t, plugins, "web", "1.2.0", plugin.APIVersion, "handler:make")
	fakePluginKinds(t, plugins, "builder", "1.1.0", plugin.APIVersion, "storage:https")
	if _, err := p.UpdateLock(ctx, nil); err != nil {
		t.Fatal(err)
	}
	want = map[string][]string{"builder": {"storage:https"}, "web": {"handler:make"}}
	check("swapped")
}

// Two plugins of the lock serving one kind refuse the update, naming both
// and the kind; nothing is written, also not into LockFile.
func TestUpdateLockConflict(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		pinned  map[string][]string // in the lock before, locked from a folder off the search path
		plugins map[string][]string // on the search path
		names   []string            // to lock
		want    []string
	}{
		{
			name:    "two on the search path",
			plugins: map[string][]string{"http": {"storage:http", "storage:https"}, "web": {"storage:https"}},
			want: []string{`plugins "http" (`, `mmbuild-plugin-http) and "web" (`, `mmbuild-plugin-web) both serve storage:https`,
				"lock only the one to use (`mmbuild plugins lock NAME`)", "nothing was written"},
		},
		{
			name:    "three",
			plugins: map[string][]string{"a": {"handler:x"}, "b": {"handler:x"}, "c": {"handler:x", "storage:c"}},
			want:    []string{`plugins "a" (`, `), "b" (`, `) and "c" (`, `) all serve handler:x`},
		},
		{
			name:    "two kinds",
			plugins: map[string][]string{"a": {"handler:x", "storage:y"}, "b": {"handler:x", "storage:y"}},
			want:    []string{`) both serve handler:x (and 1 more kind is served twice), but`},
		},
		{
			name:    "one in the lock, not locked now",
			pinned:  map[string][]string{"http": {"storage:http", "storage:https"}},
			plugins: map[string][]string{"web": {"storage:https"}},
			want: []string{`plugins "http" (pinned in `, `mmbuild.lock.hcl, not locked now) and "web" (`, `) both serve storage:https`,
				`delete the block of "http" from the lock file, or do not lock "web"`},
		},
		{
			name:    "on the search path, not locked now",
			pinned:  map[string][]string{"make": {"handler:make"}},
			plugins: map[string][]string{"make": {"handler:make"}, "builder": {"handler:make"}},
			names:   []string{"builder"},
			want:    []string{`plugins "builder" (`, `) and "make" (pinned in `, `, not locked now) both serve handler:make`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, plugins := lockProject(t)
			if len(tc.pinned) > 0 {
				// Lock the old plugins from another folder, then take
				// that folder off the search path.
				old := filepath.Join(t.TempDir(), "old")
				for name, kinds := range tc.pinned {
					fakePluginKinds(t, old, name, "0.1.0", plugin.APIVersion, kinds...)
				}
				search := p.SearchPath
				p.SearchPath = []discovery.Dir{{Path: old}}
				if _, err := p.UpdateLock(ctx, nil); err != nil {
					t.Fatal(err)
				}
				p.SearchPath = search
			}
			before, _ := os.ReadFile(p.LockPath)
			beforeLock := p.LockFile.Clone()
			for name, kinds := range tc.plugins {
				fakePluginKinds(t, plugins, name, "1.0.0", plugin.APIVersion, kinds...)
			}
			_, err := p.UpdateLock(ctx, tc.names)
			var ce *ConflictError
			if !errors.As(err, &ce) {
				t.Fatalf("UpdateLock = %v, want a *ConflictError", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%s", w, err)
				}
			}
			after, _ := os.ReadFile(p.LockPath)
			if !bytes.Equal(before, after) {
				t.Errorf("the lock file changed:\n%s\n---\n%s", before, after)
			}
			if !reflect.DeepEqual(beforeLock, p.LockFile) {
				t.Errorf("LockFile changed:\n%+v\n%+v", beforeLock, p.LockFile)
			}
		})
	}
}

// A kind the lock cannot record refuses the update.
func TestUpdateLockBadKind(t *testing.T) {
	for _, tc := range []struct{ kind, want string }{
		{"storage:HTTPS", `it describes a kind this mmbuild cannot record: invalid kind "storage:HTTPS"`},
		{"secret:vault", `invalid kind "secret:vault" (want handler:<id>, storage:<scheme> or sbom:<id>)`},
	} {
		p, plugins := lockProject(t)
		fakePluginKinds(t, plugins, "odd", "1.0.0", plugin.APIVersion, "storage:ok", tc.kind)
		_, err := p.UpdateLock(context.Background(), nil)
		if err == nil || !strings.Contains(err.Error(), "locking plugin odd (") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: UpdateLock = %v, want %q", tc.kind, err, tc.want)
		}
		if _, err := os.Stat(p.LockPath); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s: a lock file was written: %v", tc.kind, err)
		}
	}
}
