package testservers

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// registryDo sends one request to the registry's API (path, or an
// absolute URL), with basic auth when user is set, and returns the status,
// headers and body.
func registryDo(t *testing.T, r *Registry, method, path string, body []byte, user, password string) (int, http.Header, string) {
	t.Helper()
	u := path
	if !strings.HasPrefix(u, "http://") {
		u = r.URL() + path
	}
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json")
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

// pushBlob uploads data as a blob of repo (a session, then one PUT) and
// returns its digest.
func pushBlob(t *testing.T, r *Registry, repo string, data []byte, user, password string) string {
	t.Helper()
	sum := sha256.Sum256(data)
	digest := "sha256:" + hex.EncodeToString(sum[:])
	code, hdr, body := registryDo(t, r, http.MethodPost, "/v2/"+repo+"/blobs/uploads/", nil, user, password)
	if code != http.StatusAccepted || hdr.Get("Location") == "" {
		t.Fatalf("starting a blob upload: HTTP %d: %s", code, body)
	}
	loc, err := url.Parse(hdr.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	q := loc.Query()
	q.Set("digest", digest)
	loc.RawQuery = q.Encode()
	if !loc.IsAbs() {
		loc.Scheme, loc.Host = "http", r.Host
	}
	if code, _, body := registryDo(t, r, http.MethodPut, loc.String(), data, user, password); code != http.StatusCreated {
		t.Fatalf("finishing a blob upload: HTTP %d: %s", code, body)
	}
	return digest
}

func TestStartRegistry(t *testing.T) {
	r := StartRegistry(t)
	if !strings.HasPrefix(r.Host, "127.0.0.1:") || r.Username != "" {
		t.Fatalf("registry: %+v", r)
	}
	if code, hdr, _ := registryDo(t, r, http.MethodGet, "/v2/", nil, "", ""); code != http.StatusOK || hdr.Get("Docker-Distribution-Api-Version") != "registry/2.0" {
		t.Fatalf("GET /v2/: %d %v", code, hdr)
	}
	data := []byte("a blob of the test registry\n")
	digest := pushBlob(t, r, "team/repo", data, "", "")
	if code, _, body := registryDo(t, r, http.MethodGet, "/v2/team/repo/blobs/"+digest, nil, "", ""); code != http.StatusOK || body != string(data) {
		t.Errorf("GET the blob: %d %q", code, body)
	}
	// The filesystem storage holds it where BlobPath says.
	if b, err := os.ReadFile(r.BlobPath(digest)); err != nil || !bytes.Equal(b, data) {
		t.Errorf("blob in the storage: %q, %v", b, err)
	}
	if code, _, body := registryDo(t, r, http.MethodGet, "/v2/team/repo/manifests/missing", nil, "", ""); code != http.StatusNotFound || !strings.Contains(body, "MANIFEST_UNKNOWN") {
		t.Errorf("missing manifest: %d %s", code, body)
	}
}

func TestStartRegistryWithAuth(t *testing.T) {
	r := StartRegistry(t, WithRegistryAuth())
	if r.Username == "" || r.Password == "" {
		t.Fatalf("registry: %+v", r)
	}
	if code, hdr, _ := registryDo(t, r, http.MethodGet, "/v2/", nil, "", ""); code != http.StatusUnauthorized || !strings.HasPrefix(hdr.Get("Www-Authenticate"), "Basic ") {
		t.Errorf("anonymous GET /v2/: %d %v, want 401 with a Basic challenge", code, hdr)
	}
	if code, _, _ := registryDo(t, r, http.MethodGet, "/v2/", nil, r.Username, "wrong-password"); code != http.StatusUnauthorized {
		t.Errorf("GET /v2/ with a wrong password: %d, want 401", code)
	}
	if code, _, _ := registryDo(t, r, http.MethodGet, "/v2/", nil, r.Username, r.Password); code != http.StatusOK {
		t.Errorf("GET /v2/ with the account: %d, want 200", code)
	}
	digest := pushBlob(t, r, "private", []byte("secret layer"), r.Username, r.Password)
	if code, _, _ := registryDo(t, r, http.MethodGet, "/v2/private/blobs/"+digest, nil, "", ""); code != http.StatusUnauthorized {
		t.Errorf("anonymous GET of a blob: %d, want 401", code)
	}

	// The docker config logs in as docker login would.
	var cfg struct {
		Auths map[string]struct{ Auth string }
	}
	b, err := os.ReadFile(filepath.Join(r.DockerConfig(t), "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &cfg); err != nil || cfg.Auths[r.Host].Auth == "" {
		t.Errorf("docker config %s: %v", b, err)
	}
}

// TestPushImage makes an image with crane and reads its manifest back.
func TestPushImage(t *testing.T) {
	r := StartRegistry(t, WithRegistryAuth())
	digest := r.PushImage(t, "apps/hello", "v1", map[string]string{"hello.txt": "hello\n"})
	code, hdr, body := registryDo(t, r, http.MethodGet, "/v2/apps/hello/manifests/v1", nil, r.Username, r.Password)
	if code != http.StatusOK || hdr.Get("Docker-Content-Digest") != digest {
		t.Fatalf("GET the manifest by tag: %d digest %q, want %s", code, hdr.Get("Docker-Content-Digest"), digest)
	}
	var m struct {
		MediaType string
		Layers    []struct{ Digest string }
	}
	if err := json.Unmarshal([]byte(body), &m); err != nil || len(m.Layers) != 1 || m.MediaType != "application/vnd.oci.image.manifest.v1+json" {
		t.Fatalf("manifest %s: %v", body, err)
	}
}
