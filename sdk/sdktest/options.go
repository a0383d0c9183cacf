package sdktest

import (
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/sdk/storage"
)

// unknownKey is an option no backend knows.
const unknownKey = "sdktest-unknown-option"

// unknownOption checks that Stat, Get and Put refuse an option key the
// backend does not know, naming it, and that the refused Put wrote
// nothing: a misspelt option must not be ignored.
func (s *storageSuite) unknownOption(t *testing.T) {
	putURL := s.callAll(t, map[string]string{unknownKey: "1"}, func(op, u string, err error) {
		t.Helper()
		switch {
		case err == nil:
			t.Errorf("%s %s with the option %s: accepted, want it refused", op, u, unknownKey)
		case !strings.Contains(err.Error(), unknownKey):
			t.Errorf("%s %s with the option %s: %v: the error does not name the option", op, u, unknownKey, err)
		}
	})
	if putURL == "" {
		return
	}
	if _, err := s.s.Stat(t.Context(), &storage.StatRequest{URL: putURL, Options: s.options()}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Stat %s after a refused Put: %v, want fs.ErrNotExist", putURL, err)
	}
}

// refusedCredential checks that a credential the server refuses fails
// Stat, Get and Put with fs.ErrPermission, and that no error echoes it.
func (s *storageSuite) refusedCredential(t *testing.T) {
	s.callAll(t, s.refused, func(op, u string, err error) {
		t.Helper()
		if !errors.Is(err, fs.ErrPermission) {
			t.Errorf("%s %s with a refused credential: %v, want fs.ErrPermission", op, u, err)
		}
		if err == nil {
			return
		}
		for k, v := range s.refused {
			if v != "" && strings.Contains(err.Error(), v) {
				t.Errorf("%s %s: the error shows the value of option %s: %v", op, u, k, err)
			}
		}
	})
}

// callAll places an object, then calls Stat and Get of it and (unless
// ReadOnly) Put to a new URL, each with the suite's options and extra set
// over them, and hands each error to check. A failed Get must leave no
// DestPath. It returns the URL Put was given, "" when ReadOnly.
func (s *storageSuite) callAll(t *testing.T, extra map[string]string, check func(op, u string, err error)) string {
	src, _ := writeFile(t, t.TempDir(), testFile{"object.bin", 1000, 0o644})
	u := s.place(t, "object.bin", src, transfer{1000, 1, false})
	opts := func() map[string]string {
		o := s.options()
		if o == nil {
			o = map[string]string{}
		}
		maps.Copy(o, extra)
		return o
	}
	_, err := s.s.Stat(t.Context(), &storage.StatRequest{URL: u, Options: opts()})
	check("Stat", u, err)
	dest := filepath.Join(t.TempDir(), "dest")
	_, err = s.s.Get(t.Context(), &storage.GetRequest{URL: u, DestPath: dest, Options: opts()})
	check("Get", u, err)
	if _, serr := os.Lstat(dest); err != nil && serr == nil {
		t.Errorf("Get %s failed but left %s", u, dest)
	}
	if s.seed != nil {
		return ""
	}
	other := s.url(t, "other.bin")
	_, err = s.s.Put(t.Context(), &storage.PutRequest{SourcePath: src, URL: other, Options: opts(), Digest: fileDigest(t, src)})
	check("Put", other, err)
	return other
}
