package testservers

import (
	"archive/tar"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// DistributionVersion is the CNCF distribution registry release the tests
// run against; .ci/install-test-servers.sh installs the same one.
const DistributionVersion = "v3.1.2"

// CraneVersion is the crane release the tests make images with;
// .ci/install-test-servers.sh installs the same one.
const CraneVersion = "v0.22.1"

// The fixed account of a registry started WithRegistryAuth, and the bcrypt
// hash of its password in the htpasswd file (the registry takes bcrypt
// only). The server lives on loopback for one test.
const (
	registryUser     = "mmbuild-test"
	registryPassword = "mmbuild-registry-password-0123"
	registryBcrypt   = "$2a$10$3O8LXi8O8oP6pesuP/1XjeWnlYhywlldJN15ZRcFnh9L2y23XYCw6"
)

// Registry is a real OCI registry (the CNCF distribution registry with its
// filesystem storage) listening on loopback for one test.
type Registry struct {
	// Host is 127.0.0.1:<port>, what an image reference names
	// ("127.0.0.1:5000/repo:tag"). It speaks plain HTTP, which clients
	// allow for loopback addresses.
	Host string
	// Dir is the filesystem storage's root.
	Dir string
	// Username and Password are the account the registry requires when
	// started WithRegistryAuth; empty otherwise.
	Username string
	Password string
}

// RegistryOption adjusts a registry started by StartRegistry.
type RegistryOption func(*registryOptions)

type registryOptions struct{ auth bool }

// WithRegistryAuth makes the registry require HTTP basic authentication
// (an htpasswd file holding one account, Registry.Username and
// Registry.Password) for every request. Default: anonymous pull and push.
func WithRegistryAuth() RegistryOption { return func(o *registryOptions) { o.auth = true } }

// registryStartTimeout bounds the wait for the registry to answer.
const registryStartTimeout = 20 * time.Second

// StartRegistry starts the distribution registry on 127.0.0.1 with empty
// storage in a temporary folder, waits until it answers, and stops it when
// the test ends.
//
// The binary is found by Tool ("registry").
func StartRegistry(t testing.TB, opts ...RegistryOption) *Registry {
	t.Helper()
	var o registryOptions
	for _, opt := range opts {
		opt(&o)
	}
	bin := Tool(t, "registry")
	conf := t.TempDir()
	r := &Registry{Dir: filepath.Join(conf, "storage")}
	if o.auth {
		r.Username, r.Password = registryUser, registryPassword
		if err := os.WriteFile(filepath.Join(conf, "htpasswd"), []byte(registryUser+":"+registryBcrypt+"\n"), 0o600); err != nil {
			t.Fatalf("testservers: writing htpasswd: %v", err)
		}
	}
	var lastErr error
	for range 3 { // a free port can be taken before the registry binds it
		addr, err := s3FreeAddr()
		if err != nil {
			t.Fatalf("testservers: finding a free port: %v", err)
		}
		if lastErr = r.start(t, bin, conf, addr, o); lastErr == nil {
			return r
		}
	}
	t.Fatalf("testservers: starting %s: %v", bin, lastErr)
	return nil
}

// registryConfig is the registry's configuration file: filesystem storage
// with deletes allowed, no upload purging (it would race a slow test), and
// htpasswd auth when asked for.
func registryConfig(storageDir, addr, htpasswd string) string {
	c := `version: 0.1
log:
  level: error
  formatter: text
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: ` + storageDir + `
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: ` + addr + `
  secret: mmbuild-test-registry-http-secret
`
	if htpasswd != "" {
		c += `auth:
  htpasswd:
    realm: mmbuild-test
    path: ` + htpasswd + `
`
	}
	return c
}

// start runs the registry on addr and waits until it answers /v2/.
func (r *Registry) start(t testing.TB, bin, conf, addr string, o registryOptions) error {
	t.Helper()
	htpasswd := ""
	if o.auth {
		htpasswd = filepath.Join(conf, "htpasswd")
	}
	cfgPath := filepath.Join(conf, "config.yml")
	if err := os.WriteFile(cfgPath, []byte(registryConfig(r.Dir, addr, htpasswd)), 0o600); err != nil {
		return err
	}
	cmd := exec.Command(bin, "serve", cfgPath)
	// The registry reads every REGISTRY_* variable as a setting (a client's
	// REGISTRY_AUTH_FILE would be taken for the auth section): none of the
	// test's reach it. No tracing exporter: it would try to reach a
	// collector.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "REGISTRY_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "OTEL_TRACES_EXPORTER=none", "OTEL_METRICS_EXPORTER=none", "OTEL_LOGS_EXPORTER=none")
	client := &http.Client{Timeout: time.Second}
	up := func() bool {
		resp, err := client.Get("http://" + addr + "/v2/")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized // 401 with auth: up
	}
	if err := runServer(t, cmd, "registry", "http://"+addr+"/v2/", registryStartTimeout, up); err != nil {
		return err
	}
	r.Host = addr
	return nil
}

// URL is the registry's base URL, http://127.0.0.1:<port>.
func (r *Registry) URL() string { return "http://" + r.Host }

// BlobPath is where the filesystem storage keeps the blob of digest
// ("sha256:<hex>"): a test may change the bytes there to make the registry
// serve content that does not match its digest.
func (r *Registry) BlobPath(digest string) string {
	alg, hex, _ := strings.Cut(digest, ":")
	if len(hex) < 2 {
		return filepath.Join(r.Dir, "invalid-digest")
	}
	return filepath.Join(r.Dir, "docker", "registry", "v2", "blobs", alg, hex[:2], hex, "data")
}

// DockerConfig writes a docker config folder (what $DOCKER_CONFIG names,
// holding config.json) that logs in to this registry with its account, and
// returns it. The registry must have been started WithRegistryAuth.
func (r *Registry) DockerConfig(t testing.TB) string {
	t.Helper()
	if r.Username == "" {
		t.Fatal("testservers: DockerConfig of a registry without auth (use WithRegistryAuth)")
	}
	return WriteDockerConfig(t, r.Host, r.Username, r.Password)
}

// WriteDockerConfig writes a docker config folder holding a config.json
// that logs in to host (host:port) as user with password, the way
// `docker login` stores it, and returns the folder.
func WriteDockerConfig(t testing.TB, host, user, password string) string {
	t.Helper()
	dir := t.TempDir()
	cfg := map[string]any{"auths": map[string]any{
		host: map[string]string{"auth": base64.StdEncoding.EncodeToString([]byte(user + ":" + password))},
	}}
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o600); err != nil {
		t.Fatalf("testservers: writing docker config: %v", err)
	}
	return dir
}

// Crane returns the path of crane, found by Tool.
func Crane(t testing.TB) string {
	t.Helper()
	return Tool(t, "crane")
}

// PushImage makes a one-layer image holding files (path → content, under
// a root owned by nobody in particular) with crane, pushes it to
// r.Host/repo:tag, and returns the manifest digest ("sha256:<hex>"). With
// auth, crane logs in through a docker config of its own.
func (r *Registry) PushImage(t testing.TB, repo, tag string, files map[string]string) string {
	t.Helper()
	crane := Crane(t)
	dir := t.TempDir()
	layer := filepath.Join(dir, "layer.tar")
	if err := os.WriteFile(layer, tarOf(t, files), 0o600); err != nil {
		t.Fatal(err)
	}
	ref := r.Host + "/" + repo + ":" + tag
	cmd := exec.Command(crane, "append", "--insecure", "--oci-empty-base", "-f", layer, "-t", ref)
	cmd.Env = append(os.Environ(), "HOME="+dir)
	if r.Username != "" {
		cmd.Env = append(cmd.Env, "DOCKER_CONFIG="+r.DockerConfig(t))
	} else {
		cmd.Env = append(cmd.Env, "DOCKER_CONFIG="+filepath.Join(dir, "no-docker-config"))
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("testservers: crane append to %s: %v\n%s", ref, err, stderr.String())
	}
	// crane prints the pushed reference with its digest.
	out := strings.TrimSpace(stdout.String())
	_, digest, ok := strings.Cut(out, "@")
	if !ok || !strings.HasPrefix(digest, "sha256:") {
		t.Fatalf("testservers: crane append printed %q, want REF@sha256:…", out)
	}
	return digest
}

// tarOf is a tar archive of files, sorted, with fixed times and modes.
func tarOf(t testing.TB, files map[string]string) []byte {
	t.Helper()
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, n := range names {
		hdr := &tar.Header{Name: n, Mode: 0o644, Size: int64(len(files[n])), ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(files[n])); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
