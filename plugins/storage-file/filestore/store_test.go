package filestore

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/mmbuild/mmbuild/sdk/plugin"
	"github.com/mmbuild/mmbuild/sdk/sdktest"
	"github.com/mmbuild/mmbuild/sdk/storage"
)

// TestConformance runs the SDK's storage suite through the wire, in-process.
func TestConformance(t *testing.T) {
	conn := sdktest.Serve(t, plugin.WithName("file"), plugin.WithStorage("file", New()))
	sdktest.Storage(t, conn.Storage(), fileURL(t.TempDir())+"/")
}

// TestConformanceDirect runs the suite on the Store itself, without the wire.
func TestConformanceDirect(t *testing.T) {
	sdktest.Storage(t, New(), fileURL(t.TempDir())+"/")
}

func TestOptionsRefused(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	writeFile(t, src, []byte("x"), 0o644)
	u := fileURL(src)
	opts := map[string]string{"region": "x"}
	s := New()
	if _, err := s.Stat(t.Context(), &storage.StatRequest{URL: u, Options: opts}); err == nil {
		t.Error("Stat with an option succeeded")
	}
	dest := filepath.Join(dir, "dest")
	if _, err := s.Get(t.Context(), &storage.GetRequest{URL: u, DestPath: dest, Options: opts}); err == nil {
		t.Error("Get with an option succeeded")
	}
	wantAbsent(t, dest)
	if _, err := s.Put(t.Context(), &storage.PutRequest{SourcePath: src, URL: fileURL(dest), Options: opts}); err == nil {
		t.Error("Put with an option succeeded")
	}
	wantAbsent(t, dest)
}

func TestDescription(t *testing.T) {
	conn := sdktest.Serve(t, plugin.WithName("file"), plugin.WithStorage("file", New()))
	info, err := conn.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"storage:get-dir": true, "storage:put": true, "storage:put-dir": true, "storage:progress": true}
	for _, c := range info.Capabilities {
		delete(want, c)
	}
	if len(want) > 0 {
		t.Errorf("capabilities %v lack %v", info.Capabilities, want)
	}
	var schema struct {
		Type                 string         `json:"type"`
		Properties           map[string]any `json:"properties"`
		AdditionalProperties *bool          `json:"additionalProperties"`
	}
	if err := json.Unmarshal(info.ConfigSchema["storage:file"], &schema); err != nil {
		t.Fatalf("config schema: %v", err)
	}
	if schema.Type != "object" || len(schema.Properties) != 0 || schema.AdditionalProperties == nil || *schema.AdditionalProperties {
		t.Errorf("config schema %s, want an object without properties", info.ConfigSchema["storage:file"])
	}
}

func TestStat(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "tree")
	writeFile(t, filepath.Join(root, "a"), make([]byte, 10), 0o644)
	writeFile(t, filepath.Join(root, "sub", "b"), make([]byte, 32), 0o644)
	symlink(t, "a", filepath.Join(root, "link"))
	if err := os.Mkdir(filepath.Join(root, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	s := New()
	st, err := s.Stat(t.Context(), &storage.StatRequest{URL: fileURL(root)})
	if err != nil {
		t.Fatal(err)
	}
	if !st.IsDir || st.Size != 52 || st.ModTime.IsZero() {
		t.Errorf("Stat of a tree: %+v, want a directory of 52 bytes (the link counts as a file) with a time", st)
	}
	st, err = s.Stat(t.Context(), &storage.StatRequest{URL: fileURL(filepath.Join(root, "sub", "b"))})
	if err != nil || st.IsDir || st.Size != 32 {
		t.Errorf("Stat of a file: %+v, %v; want 32 bytes", st, err)
	}
	for _, p := range []string{filepath.Join(dir, "missing"), filepath.Join(root, "a", "below-a-file")} {
		if _, err := s.Stat(t.Context(), &storage.StatRequest{URL: fileURL(p)}); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Stat %s: %v, want fs.ErrNotExist", p, err)
		}
	}
}

// TestGetDoesNotClobber checks Get never writes into a DestPath that exists
// (the contract says it does not) and never removes it.
func TestGetDoesNotClobber(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "src", "f"), []byte("new"), 0o644)
	writeFile(t, filepath.Join(dir, "existing-file"), []byte("old"), 0o644)
	writeFile(t, filepath.Join(dir, "existing-dir", "f"), []byte("old"), 0o644)
	s := New()
	for _, tt := range []struct{ src, dest string }{
		{filepath.Join(dir, "src", "f"), filepath.Join(dir, "existing-file")},
		{filepath.Join(dir, "src"), filepath.Join(dir, "existing-dir")},
	} {
		if _, err := s.Get(t.Context(), &storage.GetRequest{URL: fileURL(tt.src), DestPath: tt.dest}); err == nil {
			t.Errorf("Get into existing %s succeeded", tt.dest)
		}
	}
	wantContent(t, filepath.Join(dir, "existing-file"), []byte("old"))
	wantNames(t, filepath.Join(dir, "existing-dir"), "f")
	wantContent(t, filepath.Join(dir, "existing-dir", "f"), []byte("old"))
}

func TestGetProgress(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "tree")
	writeFile(t, filepath.Join(root, "big"), bytes.Repeat([]byte("x"), 5<<20+7), 0o644)
	writeFile(t, filepath.Join(root, "small"), []byte("small"), 0o644)
	var got []storage.Progress
	_, err := New().Get(t.Context(), &storage.GetRequest{
		URL: fileURL(root), DestPath: filepath.Join(dir, "dest"),
		Progress: func(p storage.Progress) { got = append(got, p) },
	})
	if err != nil {
		t.Fatal(err)
	}
	const total = 5<<20 + 7 + 5
	if len(got) < 6 {
		t.Fatalf("%d progress reports, want one per MiB at least", len(got))
	}
	for i, p := range got {
		if p.TotalBytes != total || (i > 0 && p.DoneBytes < got[i-1].DoneBytes) {
			t.Errorf("report %d: %+v after %+v", i, p, got[max(i-1, 0)])
		}
	}
	if last := got[len(got)-1]; last.DoneBytes != total || last.Current != "small" {
		t.Errorf("last report %+v, want %d bytes done on small", last, total)
	}
}
