package gitstore

import (
	"bytes"
	"errors"
	"io/fs"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/mmbuild/mmbuild/internal/testservers"
	"github.com/mmbuild/mmbuild/sdk/plugin"
	"github.com/mmbuild/mmbuild/sdk/sdktest"
	"github.com/mmbuild/mmbuild/sdk/storage"
)

// lockedBuffer collects log lines written from several goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// captureLogs sends the plugin's log, at the most verbose level, to a
// buffer until the test ends.
func captureLogs(t *testing.T) *lockedBuffer {
	var buf lockedBuffer
	prev := hclog.Default()
	hclog.SetDefault(hclog.New(&hclog.LoggerOptions{Output: &buf, Level: hclog.Trace}))
	t.Cleanup(func() { hclog.SetDefault(prev) })
	return &buf
}

func TestAuth(t *testing.T) {
	const token = "tok3n-S3CRET-value"
	const wrong = "wr0ng-S3CRET-value"
	h := newHistory(t)
	srv := testservers.ServeGitHTTP(t, h.repo.Root, testservers.WithGitBasicAuth(DefaultUser, token))
	u := "git+" + srv.RepoURL(h.repo.Dir)
	logs := captureLogs(t)

	direct := New()
	wire := sdktest.Serve(t, plugin.WithName("git"), plugin.WithStorage("git+http", direct)).Storage()
	for name, s := range map[string]storage.Storage{"direct": direct, "wire": wire} {
		t.Run(name, func(t *testing.T) {
			for _, tc := range []struct {
				name string
				opts map[string]string
				msg  string
			}{
				{"no token", nil, "authentication required"},
				{"wrong token", map[string]string{"token": wrong}, "authentication failed"},
				{"wrong user", map[string]string{"token": token, "user": "someone"}, "authentication failed"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					for _, rev := range []string{"", "@v1", "@" + h.c2} {
						_, _, err := get(t, s, u+rev, tc.opts)
						if !errors.Is(err, fs.ErrPermission) || !strings.Contains(err.Error(), tc.msg) {
							t.Errorf("Get %s: %v, want fs.ErrPermission saying %q", u+rev, err, tc.msg)
						}
						_, serr := s.Stat(t.Context(), &storage.StatRequest{URL: u + rev, Options: tc.opts})
						if !errors.Is(serr, fs.ErrPermission) {
							t.Errorf("Stat %s: %v, want fs.ErrPermission", u+rev, serr)
						}
						for _, e := range []error{err, serr} {
							if e != nil && strings.Contains(e.Error(), "S3CRET") {
								t.Errorf("the error shows the token: %v", e)
							}
						}
					}
				})
			}
			t.Run("right token", func(t *testing.T) {
				opts := map[string]string{"token": token}
				for rev, want := range map[string]string{"": h.c4, "@v1": h.c1, "@" + h.c2: h.c2, "//dir@light": h.c3} {
					dest, resp := mustGet(t, s, u+rev, opts)
					if resp.Revision != want {
						t.Errorf("Get %s: revision %s, want %s", u+rev, resp.Revision, want)
					}
					if rev == "//dir@light" {
						checkTree(t, dest, subtree(h.trees[want], "dir"))
					} else {
						checkTree(t, dest, h.trees[want])
					}
				}
				if _, err := s.Stat(t.Context(), &storage.StatRequest{URL: u, Options: opts}); err != nil {
					t.Errorf("Stat with the token: %v", err)
				}
			})
		})
	}
	if strings.Contains(logs.String(), "S3CRET") {
		t.Errorf("the log shows the token:\n%s", logs.String())
	}

	t.Run("user", func(t *testing.T) {
		srv := testservers.ServeGitHTTP(t, h.repo.Root, testservers.WithGitBasicAuth("ci", token))
		u := "git+" + srv.RepoURL(h.repo.Dir)
		if _, _, err := get(t, direct, u, map[string]string{"token": token}); !errors.Is(err, fs.ErrPermission) {
			t.Errorf("Get as %s: %v, want fs.ErrPermission", DefaultUser, err)
		}
		mustGet(t, direct, u, map[string]string{"token": token, "user": "ci"})
	})
}

// TestCommitWithoutFetchByID fetches a commit from a server that does not
// hand out commits by id: every branch and tag is fetched instead.
func TestCommitWithoutFetchByID(t *testing.T) {
	h := newHistory(t)
	for _, k := range []string{"allowAnySHA1InWant", "allowReachableSHA1InWant", "allowTipSHA1InWant"} {
		h.repo.Git("config", "uploadpack."+k, "false")
	}
	u := "git+" + testservers.ServeGitHTTP(t, h.repo.Root).RepoURL(h.repo.Dir)
	s := New()
	for _, c := range []string{h.c1, h.c2, h.c3, h.c4} {
		dest, resp := mustGet(t, s, u+"@"+c, nil)
		checkTree(t, dest, h.trees[c])
		if resp.Revision != c {
			t.Errorf("Get @%s: revision %s", c, resp.Revision)
		}
	}
	missing := strings.Repeat("ab", 20)
	_, _, err := get(t, s, u+"@"+missing, nil)
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "not reachable from any branch or tag") {
		t.Errorf("Get of an unknown commit: %v, want fs.ErrNotExist", err)
	}
}

func TestHTTPServerErrors(t *testing.T) {
	h := newHistory(t)
	srv := testservers.ServeGitHTTP(t, h.repo.Root)
	s := New()
	// Nothing listens on a port just closed.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := "git+http://" + l.Addr().String() + "/repo"
	l.Close()
	_, _, err = get(t, s, u, nil)
	if err == nil || errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
		t.Errorf("Get from a closed server: %v, want a plain error", err)
	}
	_, _, err = get(t, s, "git+"+srv.URL+"/no/such/repo.git@main", nil)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Get of a missing repository: %v, want fs.ErrNotExist", err)
	}
}
