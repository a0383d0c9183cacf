package filestore

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/mmbuild/mmbuild/sdk/storage"
)

func TestPutFileCreatesParentsAndKeepsMode(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	writeFile(t, src, []byte("tool"), 0o755)
	dest := filepath.Join(dir, "a", "b", "c", "tool")
	resp, err := putURL(t, t.Context(), src, fileURL(dest), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Bytes != 4 || resp.Files != 1 || resp.IsDir {
		t.Errorf("Put: %+v, want one file of 4 bytes", resp)
	}
	wantContent(t, dest, []byte("tool"))
	if fi, err := os.Stat(dest); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("mode of %s: %v, %v; want 0755", dest, fi.Mode(), err)
	}
	wantNames(t, filepath.Dir(dest), "tool")
}

// TestPutFileReaderSeesWholeFiles reads the destination while Puts replace
// it: every read must return one whole version.
func TestPutFileReaderSeesWholeFiles(t *testing.T) {
	dir := t.TempDir()
	a, b := bytes.Repeat([]byte("a"), 1<<20), bytes.Repeat([]byte("b"), 3<<20)
	srcA, srcB := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	writeFile(t, srcA, a, 0o644)
	writeFile(t, srcB, b, 0o644)
	out := filepath.Join(dir, "out")
	dest := filepath.Join(out, "obj")
	if _, err := putURL(t, t.Context(), srcA, fileURL(dest), nil); err != nil {
		t.Fatal(err)
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var reads, torn int
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			got, err := os.ReadFile(dest)
			if err != nil {
				t.Errorf("reading during Put: %v", err)
				return
			}
			reads++
			if !bytes.Equal(got, a) && !bytes.Equal(got, b) {
				torn++
			}
		}
	})
	for i := range 30 {
		src := srcA
		if i%2 == 0 {
			src = srcB
		}
		if _, err := putURL(t, t.Context(), src, fileURL(dest), nil); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	if torn > 0 {
		t.Errorf("%d of %d reads saw a partial file", torn, reads)
	}
	t.Logf("%d reads during 30 Puts", reads)
	wantNames(t, out, "obj")
}

func TestPutFailuresLeaveNothing(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	writeFile(t, src, []byte("new"), 0o644)
	tree := filepath.Join(dir, "tree")
	writeFile(t, filepath.Join(tree, "x"), []byte("x"), 0o644)

	out := filepath.Join(dir, "out")
	writeFile(t, filepath.Join(out, "file"), []byte("old"), 0o644)
	writeFile(t, filepath.Join(out, "dir", "keep"), []byte("keep"), 0o644)

	for _, tt := range []struct{ name, src, dest string }{
		{"parent is a file", src, filepath.Join(out, "file", "child")},
		{"grandparent is a file", src, filepath.Join(out, "file", "a", "child")},
		{"file over a directory", src, filepath.Join(out, "dir")},
		{"tree over a file", tree, filepath.Join(out, "file")},
		{"source missing", filepath.Join(dir, "missing"), filepath.Join(out, "new")},
	} {
		if _, err := putURL(t, t.Context(), tt.src, fileURL(tt.dest), nil); err == nil {
			t.Errorf("%s: Put succeeded, want an error", tt.name)
		}
		wantNames(t, out, "dir", "file")
		wantNames(t, filepath.Join(out, "dir"), "keep")
		wantContent(t, filepath.Join(out, "file"), []byte("old"))
	}
	if _, err := putURL(t, t.Context(), src, "file:///", nil); !errors.Is(err, storage.ErrInvalidURL) {
		t.Errorf("Put to file:///: %v, want storage.ErrInvalidURL", err)
	}
}

// cancelAfterFirst returns a progress function that cancels on its first call.
func cancelAfterFirst(cancel context.CancelFunc) storage.ProgressFunc {
	return func(storage.Progress) { cancel() }
}

func TestPutCancelledKeepsOldObject(t *testing.T) {
	dir := t.TempDir()
	big := bytes.Repeat([]byte("n"), 8<<20)
	src := filepath.Join(dir, "big")
	writeFile(t, src, big, 0o644)
	srcTree := filepath.Join(dir, "tree")
	writeFile(t, filepath.Join(srcTree, "new-small"), []byte("new"), 0o644)
	writeFile(t, filepath.Join(srcTree, "new-big"), big, 0o644)

	out := filepath.Join(dir, "out")
	writeFile(t, filepath.Join(out, "obj"), []byte("old"), 0o644)
	writeFile(t, filepath.Join(out, "tree", "old"), []byte("old"), 0o644)

	for _, tt := range []struct{ src, dest string }{
		{src, filepath.Join(out, "obj")},
		{srcTree, filepath.Join(out, "tree")},
		{src, filepath.Join(out, "new-obj")},
		{srcTree, filepath.Join(out, "new-tree")},
	} {
		ctx, cancel := context.WithCancel(t.Context())
		_, err := putURL(t, ctx, tt.src, fileURL(tt.dest), cancelAfterFirst(cancel))
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled Put to %s: %v, want context.Canceled", tt.dest, err)
		}
		wantNames(t, out, "obj", "tree")
		wantContent(t, filepath.Join(out, "obj"), []byte("old"))
		wantNames(t, filepath.Join(out, "tree"), "old")
	}
}

func TestPutTreeReplacesTree(t *testing.T) {
	for _, fallback := range []bool{false, true} {
		name := "exchange"
		if fallback {
			name = "rename away"
		}
		t.Run(name, func(t *testing.T) {
			if fallback {
				exchangeDirs = func(string, string) error { return errNoExchange }
				t.Cleanup(func() { exchangeDirs = exchange })
			}
			dir := t.TempDir()
			src := filepath.Join(dir, "src")
			writeFile(t, filepath.Join(src, "new", "z"), []byte("z"), 0o600)
			writeFile(t, filepath.Join(src, "run.sh"), []byte("#!"), 0o755)
			if err := os.Mkdir(filepath.Join(src, "empty"), 0o750); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(dir, "out")
			dest := filepath.Join(out, "tree")
			writeFile(t, filepath.Join(dest, "x"), []byte("x"), 0o644)
			writeFile(t, filepath.Join(dest, "old", "y"), []byte("y"), 0o644)

			resp, err := putURL(t, t.Context(), src, fileURL(dest)+"/", nil)
			if err != nil {
				t.Fatal(err)
			}
			if !resp.IsDir || resp.Files != 2 || resp.Bytes != 3 {
				t.Errorf("Put: %+v, want a tree of 2 files, 3 bytes", resp)
			}
			wantNames(t, out, "tree")
			wantNames(t, dest, "empty", "new", "run.sh")
			wantContent(t, filepath.Join(dest, "new", "z"), []byte("z"))
			for rel, mode := range map[string]os.FileMode{"new/z": 0o600, "run.sh": 0o755, "empty": 0o750 | os.ModeDir} {
				if fi, err := os.Stat(filepath.Join(dest, rel)); err != nil || fi.Mode() != mode {
					t.Errorf("%s: %v %v, want %v", rel, fi.Mode(), err, mode)
				}
			}
		})
	}
}
