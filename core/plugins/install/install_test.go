package install

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/core/evidence/digest"
)

func TestInstall(t *testing.T) {
	src := filepath.Join(t.TempDir(), "mmbuild-plugin-demo")
	if err := os.WriteFile(src, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	set, _, _ := digest.File(src)
	good := "sha256:" + set["sha256"]
	dest := t.TempDir()
	tests := []struct {
		name    string
		req     Request
		wantErr string
	}{
		{"ok", Request{Source: src, DestDir: dest, Checksum: good}, ""},
		{"no checksum", Request{Source: src, DestDir: dest}, ""},
		{"bad checksum", Request{Source: src, DestDir: dest, Checksum: "sha256:" + strings.Repeat("0", 64)}, "checksum mismatch"},
		{"bad name", Request{Source: src, DestDir: dest, Name: "Bad/Name"}, "invalid plugin name"},
		{"unprefixed", Request{Source: filepath.Join(filepath.Dir(src), "other"), DestDir: dest}, "--name"},
		{"larger than MaxBytes", Request{Source: src, DestDir: dest, MaxBytes: 4}, "larger than 4 bytes"},
		{"fetch past MaxBytes", Request{Source: "s3://b/mmbuild-plugin-demo", DestDir: dest, MaxBytes: 4, Fetch: func(_ context.Context, _, dst string, _ int64) error {
			return os.WriteFile(dst, []byte("more than four"), 0o644) // a fetch that ignores the bound
		}}, "larger than 4 bytes"},
		{"url without fetch", Request{Source: "s3://b/mmbuild-plugin-demo", DestDir: dest}, "no way to fetch"},
		{"fetch error", Request{Source: "s3://b/mmbuild-plugin-demo", DestDir: dest, Fetch: func(context.Context, string, string, int64) error {
			return errors.New("boom")
		}}, "boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Install(context.Background(), tt.req)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			fi, err := os.Stat(res.Path)
			if err != nil || fi.Mode().Perm() != 0o755 || res.SHA256 != good || res.Name != "demo" {
				t.Fatalf("installed %+v, %v", res, err)
			}
		})
	}
	// Nothing half-installed is left behind.
	entries, _ := os.ReadDir(dest)
	for _, e := range entries {
		if e.Name() != "mmbuild-plugin-demo" {
			t.Errorf("left behind: %s", e.Name())
		}
	}
}
