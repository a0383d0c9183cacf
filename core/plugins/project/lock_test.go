package project

import (
	"context"
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

// fakePlugin writes a shell script that describes itself as a plugin.
func fakePlugin(t *testing.T, dir, name, version string, api int) string {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("shell script plugins")
	}
	info := fmt.Sprintf(`{"name":%q,"version":%q,"api_version":%d,"kinds":["storage:%s"]}`, name, version, api, name)
	p := filepath.Join(dir, plugin.BinaryPrefix+name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("#!/bin/sh\necho '"+info+"'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
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
