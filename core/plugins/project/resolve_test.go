package project

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/mmbuild/mmbuild/core/plugins/audit"
	"github.com/mmbuild/mmbuild/core/plugins/discovery"
	"github.com/mmbuild/mmbuild/core/plugins/lockfile"
	"github.com/mmbuild/mmbuild/sdk/plugin"
)

// fake is one fake plugin of a resolver test.
type fake struct {
	name  string
	api   int // 0: plugin.APIVersion
	kinds []string
}

// lockHow says how a test's lock file comes about.
type lockHow int

const (
	noLock    lockHow = iota
	lockKinds         // mmbuild plugins lock: kinds recorded
	lockOld           // pinned the way a lock without kinds did
)

// resolverProject installs plugins (the locked ones, locked as how says,
// then the unpinned ones) and opens the project afresh, as a run does.
func resolverProject(t *testing.T, how lockHow, locked, unpinned []fake, opts ...Option) (*Plugins, string) {
	t.Helper()
	p, plugins := lockProject(t)
	install := func(fs []fake) {
		for _, f := range fs {
			if f.api == 0 {
				f.api = plugin.APIVersion
			}
			fakePluginKinds(t, plugins, f.name, "1.0.0", f.api, f.kinds...)
		}
	}
	install(locked)
	switch how {
	case lockKinds:
		if _, err := p.UpdateLock(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
	case lockOld:
		lock := lockfile.New()
		for _, f := range locked {
			sha, err := discovery.SHA256(filepath.Join(plugins, plugin.BinaryPrefix+f.name))
			if err != nil {
				t.Fatal(err)
			}
			if err := lock.Set(f.name, "1.0.0", lockfile.Platform(), sha); err != nil {
				t.Fatal(err)
			}
		}
		if err := lock.Write(p.LockPath); err != nil {
			t.Fatal(err)
		}
	}
	install(unpinned)
	runs(t, plugins) // forget the runs of locking
	opts = append([]Option{isolated(t), WithAuditOptions(audit.WithCacheDir(""))}, opts...)
	p, err := Open(p.Dir, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return p, plugins
}

func TestResolve(t *testing.T) {
	var (
		make_   = fake{name: "make", kinds: []string{"handler:make"}}
		builder = fake{name: "builder", kinds: []string{"handler:make", "handler:ninja"}}
		web     = fake{name: "web", kinds: []string{"storage:http", "storage:https"}}
		web2    = fake{name: "web2", kinds: []string{"storage:https"}}
		git     = fake{name: "git", kinds: []string{"storage:git+ssh", "storage:git+https"}}
		future  = fake{name: "future", api: 99, kinds: []string{"storage:s3"}}
	)
	type ask struct {
		handler bool   // Handler, else Storage
		id      string // handler id or scheme
		want    string // plugin name; "" for an error
		err     []string
	}
	for _, tc := range []struct {
		name     string
		how      lockHow
		locked   []fake
		unpinned []fake
		allow    bool
		asks     []ask
		ran      []string // the plugins that ran to answer, sorted
	}{
		{
			name: "from the lock, without running anything", how: lockKinds,
			locked: []fake{builder, web, git},
			asks: []ask{
				{handler: true, id: "make", want: "builder"},
				{handler: true, id: "ninja", want: "builder"},
				{id: "https", want: "web"},
				{id: "HTTP", want: "web"}, // lower-cased
				{id: "git+ssh", want: "git"},
			},
		},
		{
			name: "not in the lock, nothing unpinned", how: lockKinds,
			locked: []fake{make_, web},
			asks: []ask{
				{id: "s3", err: []string{`no installed plugin serves URL scheme "s3" (searched: `, "none is recorded for it in ", lockfile.FileName,
					"install one (`mmbuild plugins install`), then pin it with `mmbuild plugins lock`"}},
				{handler: true, id: "ninja", err: []string{`no installed plugin serves handler "ninja"`}},
			},
		},
		{
			name: "not in the lock, unpinned not allowed: not run", how: lockKinds,
			locked: []fake{make_}, unpinned: []fake{web},
			asks: []ask{
				{id: "https", err: []string{`no pinned plugin serves URL scheme "https"`, `not pinned, so not asked: "web"`,
					"run `mmbuild plugins lock` to pin the installed plugins, or pass --allow-unpinned"}},
			},
		},
		{
			name: "not in the lock, unpinned allowed", how: lockKinds, allow: true,
			locked: []fake{make_}, unpinned: []fake{web, builder},
			asks: []ask{
				{id: "https", want: "web"},
				{id: "http", want: "web"},
				{handler: true, id: "ninja", want: "builder"},
				{handler: true, id: "make", want: "make"}, // the lock wins
			},
			ran: []string{"builder", "web"}, // once each, make not at all
		},
		{
			name: "old lock without kinds", how: lockOld,
			locked: []fake{make_, web, git},
			asks: []ask{
				{handler: true, id: "make", want: "make"},
				{id: "https", want: "web"},
				{id: "http", want: "web"},
				{id: "git+https", want: "git"},
				{id: "s3", err: []string{`no installed plugin serves URL scheme "s3"`}},
			},
			ran: []string{"git", "make", "web"},
		},
		{
			name: "no lock, unpinned not allowed", how: noLock,
			unpinned: []fake{make_, web},
			asks: []ask{
				{handler: true, id: "make", err: []string{`no pinned plugin serves handler "make"`, "there is no ", lockfile.FileName,
					`not pinned, so not asked: "make", "web"`, "mmbuild plugins lock", "--allow-unpinned"}},
			},
		},
		{
			name: "no lock, unpinned allowed", how: noLock, allow: true,
			unpinned: []fake{make_, web},
			asks: []ask{
				{handler: true, id: "make", want: "make"},
				{id: "https", want: "web"},
			},
			ran: []string{"make", "web"},
		},
		{
			name: "two unpinned serve it", how: noLock, allow: true,
			unpinned: []fake{web, web2, make_, builder},
			asks: []ask{
				{id: "http", want: "web"},
				{id: "https", err: []string{`plugins "web" and "web2" on the search path both serve URL scheme "https"`, "`mmbuild plugins lock NAME`"}},
				{handler: true, id: "make", err: []string{`plugins "builder" and "make" on the search path both serve handler "make"`}},
			},
			ran: []string{"builder", "make", "web", "web2"},
		},
		{
			name: "incompatible API skipped", how: noLock, allow: true,
			unpinned: []fake{future},
			asks: []ask{
				{id: "s3", err: []string{`no installed plugin serves URL scheme "s3"`, `skipped: "future" (speaks plugin API v99`}},
			},
			ran: []string{"future"},
		},
		{
			name: "invalid id", how: lockKinds, locked: []fake{make_},
			asks: []ask{
				{handler: true, id: "Make", err: []string{`no plugin can serve handler "Make": want lower case`}},
				{id: "", err: []string{`no plugin can serve URL scheme ""`}},
				{id: "s3:x", err: []string{`no plugin can serve URL scheme "s3:x"`}},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, plugins := resolverProject(t, tc.how, tc.locked, tc.unpinned, WithAllowUnpinned(tc.allow))
			for round := range 2 { // the second round is memoised
				for _, a := range tc.asks {
					var got string
					var err error
					if a.handler {
						got, err = p.Handler(a.id)
					} else {
						got, err = p.Storage(a.id)
					}
					if a.want != "" {
						if err != nil || got != a.want {
							t.Errorf("round %d: %q: %q, %v; want %q", round, a.id, got, err, a.want)
						}
						continue
					}
					if err == nil {
						t.Errorf("round %d: %q: %q, want an error", round, a.id, got)
						continue
					}
					for _, w := range a.err {
						if !strings.Contains(err.Error(), w) {
							t.Errorf("round %d: %q: error lacks %q:\n%s", round, a.id, w, err)
						}
					}
					if strings.ContainsAny(err.Error(), "\r\n") {
						t.Errorf("error spans lines: %q", err)
					}
				}
			}
			ran := runs(t, plugins)
			slices.Sort(ran)
			if !reflect.DeepEqual(ran, tc.ran) {
				t.Errorf("ran %v, want %v", ran, tc.ran)
			}
		})
	}
}

// The fallback asks only binaries that may run.
func TestResolveRefuses(t *testing.T) {
	web := fake{name: "web", kinds: []string{"storage:https"}}
	for _, tc := range []struct {
		name   string
		how    lockHow
		change func(t *testing.T, bin string)
		want   string
	}{
		{"sum differs from the pin", lockOld, func(t *testing.T, bin string) {
			f, err := os.OpenFile(bin, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = f.WriteString("# tampered\n")
			f.Close()
		}, `skipped: "web" (binary is sha256:`},
		{"writable by others", noLock, func(t *testing.T, bin string) {
			if err := os.Chmod(bin, 0o757); err != nil {
				t.Fatal(err)
			}
		}, `skipped: "web" (refused: `},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var locked, unpinned []fake
			if tc.how == lockOld {
				locked = []fake{web}
			} else {
				unpinned = []fake{web}
			}
			p, plugins := resolverProject(t, tc.how, locked, unpinned, WithAllowUnpinned(true))
			tc.change(t, filepath.Join(plugins, plugin.BinaryPrefix+"web"))
			_, err := p.Storage("https")
			var ns *NotServedError
			if !errors.As(err, &ns) || !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Storage(https) = %v, want a *NotServedError with %q", err, tc.want)
			}
			if ran := runs(t, plugins); ran != nil {
				t.Errorf("ran %v", ran)
			}
		})
	}
}

// A lock entry that records the kind wins, even when its plugin is gone:
// the host then says it is not found.
func TestResolveLockIsAuthoritative(t *testing.T) {
	p, plugins := resolverProject(t, lockKinds, []fake{{name: "web", kinds: []string{"storage:https"}}},
		[]fake{{name: "other", kinds: []string{"storage:https"}}}, WithAllowUnpinned(true))
	if err := os.Remove(filepath.Join(plugins, plugin.BinaryPrefix+"web")); err != nil {
		t.Fatal(err)
	}
	if got, err := p.Storage("https"); err != nil || got != "web" {
		t.Fatalf("Storage(https) = %q, %v; want web", got, err)
	}
	if ran := runs(t, plugins); ran != nil {
		t.Errorf("ran %v", ran)
	}
}

// A describe answer is cached by sha256: a second run of the same binaries
// (another Plugins value) starts no process.
func TestResolveCached(t *testing.T) {
	cache := t.TempDir()
	locked := []fake{{name: "make", kinds: []string{"handler:make"}}, {name: "web", kinds: []string{"storage:https"}}}
	p, plugins := resolverProject(t, lockOld, locked, nil, WithAuditOptions(audit.WithCacheDir(cache)))
	if got, err := p.Handler("make"); err != nil || got != "make" {
		t.Fatalf("Handler(make) = %q, %v", got, err)
	}
	if ran := runs(t, plugins); len(ran) != 2 {
		t.Fatalf("first resolve ran %v, want both plugins once", ran)
	}
	q, err := Open(p.Dir, isolated(t), WithAuditOptions(audit.WithCacheDir(cache)))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := q.Storage("https"); err != nil || got != "web" {
		t.Fatalf("Storage(https) = %q, %v", got, err)
	}
	if ran := runs(t, plugins); ran != nil {
		t.Errorf("second resolve ran %v, want nothing (cached)", ran)
	}
}

// Resolving from several goroutines at once gives one answer, and asks each
// plugin once.
func TestResolveConcurrent(t *testing.T) {
	p, plugins := resolverProject(t, noLock, nil, []fake{
		{name: "make", kinds: []string{"handler:make"}},
		{name: "web", kinds: []string{"storage:http", "storage:https"}},
	}, WithAllowUnpinned(true))
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 16 {
		wg.Go(func() {
			for _, s := range []string{"http", "https"} {
				if got, err := p.Storage(s); err != nil || got != "web" {
					errs <- errors.New(s + ": " + got)
				}
			}
			if got, err := p.Handler("make"); err != nil || got != "make" {
				errs <- errors.New("make: " + got)
			}
			if i%4 == 0 {
				p.Host().Close() // a host made meanwhile reads the lock too
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if ran := runs(t, plugins); len(ran) != 2 {
		t.Errorf("ran %v, want each plugin once", ran)
	}
}

// Host resolves through the project, and UpdateLock makes it forget what
// it resolved.
func TestHostResolves(t *testing.T) {
	p, plugins := resolverProject(t, noLock, nil, []fake{{name: "builder", kinds: []string{"handler:make"}}}, WithAllowUnpinned(true))
	h := p.Host()
	defer h.Close()
	if got, err := h.HandlerPlugin("make"); err != nil || got != "builder" {
		t.Fatalf("HandlerPlugin(make) = %q, %v; want builder", got, err)
	}
	if _, err := h.StoragePlugin("https"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("StoragePlugin(https) = %v", err)
	}
	fakePluginKinds(t, plugins, "web", "1.0.0", plugin.APIVersion, "storage:https")
	if _, err := p.UpdateLock(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	runs(t, plugins)
	if got, err := h.StoragePlugin("https"); err != nil || got != "web" {
		t.Fatalf("after the lock: StoragePlugin(https) = %q, %v; want web", got, err)
	}
	if ran := runs(t, plugins); ran != nil {
		t.Errorf("resolving after the lock ran %v", ran)
	}
}

// Locking while a run resolves and checks pins is safe, and every answer
// is the same before and after.
func TestResolveWhileLocking(t *testing.T) {
	p, _ := resolverProject(t, noLock, nil, []fake{
		{name: "make", kinds: []string{"handler:make"}},
		{name: "web", kinds: []string{"storage:https"}},
	}, WithAllowUnpinned(true))
	h := p.Host()
	defer h.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	wg.Go(func() {
		for range 3 {
			if _, err := p.UpdateLock(context.Background(), nil); err != nil {
				errs <- err
			}
		}
	})
	for range 8 {
		wg.Go(func() {
			for range 20 {
				if got, err := h.StoragePlugin("https"); err != nil || got != "web" {
					errs <- errors.New("https: " + got)
				}
				if got, err := p.Handler("make"); err != nil || got != "make" {
					errs <- errors.New("make: " + got)
				}
				p.lock().Pin("web")
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
