package httpstore

import (
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/mmbuild/mmbuild/internal/testservers"
	"github.com/mmbuild/mmbuild/sdk/sdktest"
	"github.com/mmbuild/mmbuild/sdk/storage"
)

// TestConformance runs the SDK's suite through the wire against a real
// server that takes PUT.
func TestConformance(t *testing.T) {
	srv := testservers.NewHTTPServer(t, t.TempDir(), testservers.WithPut())
	sdktest.Storage(t, wire(t, testStore()), srv.URL+"/base/", sdktest.WithoutDirs(), sdktest.WithoutModes())
}

func TestStat(t *testing.T) {
	root := t.TempDir()
	data := object(t, root, "dir/obj.bin", 12345)
	object(t, root, "empty", 0)
	mtime := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	if err := os.Chtimes(filepath.Join(root, "dir/obj.bin"), mtime, mtime); err != nil {
		t.Fatal(err)
	}
	srv := testservers.NewHTTPServer(t, root)
	// A server that refuses HEAD: Stat asks for the first byte instead.
	noHead := func(name string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodHead {
				http.Error(w, "no HEAD here", http.StatusMethodNotAllowed)
				return
			}
			f, err := os.Open(filepath.Join(root, name))
			if err != nil {
				t.Error(err)
				return
			}
			defer f.Close()
			http.ServeContent(w, r, "", mtime, f)
		})
	}
	srv.Handle("/nohead/obj.bin", noHead("dir/obj.bin"))
	srv.Handle("/nohead/empty", noHead("empty"))
	s := wire(t, testStore())

	for _, tc := range []struct {
		path string
		size int64
	}{{"/dir/obj.bin", int64(len(data))}, {"/empty", 0}, {"/nohead/obj.bin", int64(len(data))}, {"/nohead/empty", 0}} {
		st, err := s.Stat(t.Context(), &storage.StatRequest{URL: srv.URL + tc.path})
		if err != nil {
			t.Errorf("Stat %s: %v", tc.path, err)
			continue
		}
		if st.IsDir || st.Size != tc.size {
			t.Errorf("Stat %s: %+v, want a file of %d bytes", tc.path, st, tc.size)
		}
		if tc.path != "/empty" && !st.ModTime.Equal(mtime) {
			t.Errorf("Stat %s: ModTime %v, want %v", tc.path, st.ModTime, mtime)
		}
	}
	if r := srv.Requests("/nohead/obj.bin"); len(r) != 2 || r[1].Method != "GET" || r[1].Range != "bytes=0-0" {
		t.Errorf("Stat without HEAD sent %+v, want HEAD then GET of bytes=0-0", r)
	}
	for _, p := range []string{"/missing", "/dir", "/dir/obj.bin/below"} {
		if _, err := s.Stat(t.Context(), &storage.StatRequest{URL: srv.URL + p}); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Stat %s: %v, want fs.ErrNotExist", p, err)
		}
	}
}

func TestCapabilitiesAndSchema(t *testing.T) {
	s := New()
	for _, c := range []string{"storage:progress", "storage:put", "storage:resume"} {
		if !slices.Contains(s.Capabilities(), c) {
			t.Errorf("Capabilities %v lack %s", s.Capabilities(), c)
		}
	}
	var sch struct {
		Type       string                     `json:"type"`
		Properties map[string]json.RawMessage `json:"properties"`
		Additional *bool                      `json:"additionalProperties"`
	}
	if err := json.Unmarshal(s.ConfigSchema(), &sch); err != nil {
		t.Fatalf("schema: %v", err)
	}
	var keys []string
	for k := range sch.Properties {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if sch.Type != "object" || sch.Additional == nil || *sch.Additional || !slices.Equal(keys, optionKeys) {
		t.Errorf("schema: type %q, additionalProperties %v, keys %v; want an object of exactly %v", sch.Type, sch.Additional, keys, optionKeys)
	}
}
