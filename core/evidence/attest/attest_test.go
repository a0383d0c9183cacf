package attest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/core/evidence/provenance"
)

// Each form of --material is recorded with its digest; a remote one without
// a digest is refused without its credentials in the error.
func TestMaterials(t *testing.T) {
	dir := t.TempDir()
	local := filepath.Join(dir, "lib.tgz")
	if err := os.WriteFile(local, []byte("lib\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sum := strings.Repeat("ab", 32)
	commit := strings.Repeat("c", 40)
	got, paths, err := materials([]string{
		"https://u:pw@example.com/tool.tgz?sig=x@sha256:" + sum,
		"git+https://example.com/app.git@" + commit,
		local,
	})
	if err != nil {
		t.Fatal(err)
	}
	libSum := sha256.Sum256([]byte("lib\n"))
	want := []provenance.Resource{
		{URI: "https://REDACTED@example.com/tool.tgz?REDACTED", Digest: provenance.Digest{"sha256": sum}},
		{URI: "git+https://example.com/app.git@" + commit, Digest: provenance.Digest{"sha1": commit}},
		{URI: "file://" + local, Digest: provenance.Digest{"sha256": hex.EncodeToString(libSum[:])}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("materials = %+v, want %+v", got, want)
	}
	if len(paths) != 1 || paths[0] != local {
		t.Errorf("local files read %v, want %s", paths, local)
	}
	for _, bad := range []string{"https://u:pw@example.com/x.tgz", filepath.Join(dir, "missing.tgz"), dir} {
		if _, _, err := materials([]string{bad}); err == nil || strings.Contains(err.Error(), "pw@") || strings.Contains(err.Error(), "\n") {
			t.Errorf("materials(%s) = %v", bad, err)
		}
	}
}

// A subject named like the evidence written beside it, and two subjects
// with one name, are refused before anything is assembled.
func TestSubjectNames(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"dist/provenance.json", "a/app.tgz", "b/app.tgz"} {
		p := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for pattern, want := range map[string]string{"dist/*": "named like the evidence", "*/app.tgz": "the same name app.tgz"} {
		if _, err := Evidence(context.Background(), Request{Dir: dir, Subjects: []string{pattern}}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", pattern, err, want)
		}
	}
}
