package testservers

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// VersityGWVersion is the versitygw release the tests run against;
// .ci/install-test-servers.sh installs the same one.
const VersityGWVersion = "v1.8.0"

// S3Server is a real S3-compatible server (versitygw with its posix
// backend) listening on loopback for one test.
type S3Server struct {
	Endpoint  string // http://127.0.0.1:<port>
	Region    string
	AccessKey string // the root account's
	SecretKey string
	// Dir is the posix backend's root: each folder in it is a bucket, and
	// each file below a bucket an object.
	Dir string
}

// Fixed root credentials: the server lives on loopback for one test.
const (
	s3AccessKey = "mmbuild-test-access"
	s3SecretKey = "mmbuild-test-secret-key-0123456789"
	s3Region    = "us-east-1"
)

// s3StartTimeout bounds the wait for the server to answer.
const s3StartTimeout = 20 * time.Second

// StartS3 starts versitygw on 127.0.0.1 with an empty posix backend in a
// temporary folder, waits until it answers, and stops it when the test ends.
//
// The binary is found by Tool ("versitygw").
func StartS3(t testing.TB) *S3Server {
	t.Helper()
	bin := findVersityGW(t)
	s := &S3Server{Region: s3Region, AccessKey: s3AccessKey, SecretKey: s3SecretKey, Dir: t.TempDir()}
	var lastErr error
	for range 3 { // a free port can be taken before versitygw binds it
		addr, err := s3FreeAddr()
		if err != nil {
			t.Fatalf("testservers: finding a free port: %v", err)
		}
		if lastErr = s.start(t, bin, addr); lastErr == nil {
			return s
		}
	}
	t.Fatalf("testservers: starting %s: %v", bin, lastErr)
	return nil
}

func findVersityGW(t testing.TB) string {
	t.Helper()
	return Tool(t, "versitygw")
}

func s3FreeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// start runs the server on addr and waits until it answers HTTP.
func (s *S3Server) start(t testing.TB, bin, addr string) error {
	t.Helper()
	// --keep-alive: S3 keeps connections open between requests, and
	// versitygw closes each one after a request unless told not to; a
	// client's connection pool would go untested, and every HEAD and PUT
	// of a bench would pay a new connection for both tools.
	cmd := exec.Command(bin, "--port", addr, "--region", s.Region, "--quiet", "--keep-alive", "posix", s.Dir)
	// Credentials through the environment, not argv: no need to show them in ps.
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY_ID="+s.AccessKey, "ROOT_SECRET_ACCESS_KEY="+s.SecretKey)
	endpoint := "http://" + addr
	client := &http.Client{Timeout: time.Second}
	up := func() bool {
		resp, err := client.Get(endpoint + "/")
		if err != nil {
			return false
		}
		resp.Body.Close() // any HTTP answer (403 without credentials) means up
		return true
	}
	if err := runServer(t, cmd, "versitygw", endpoint, s3StartTimeout, up); err != nil {
		return err
	}
	s.Endpoint = endpoint
	return nil
}

// CreateBucket creates an empty bucket through the S3 API (a signed
// CreateBucket request), as any client would.
func (s *S3Server) CreateBucket(t testing.TB, name string) {
	t.Helper()
	if name == "" || strings.ContainsAny(name, "/?#%") {
		t.Fatalf("testservers: bad bucket name %q", name)
	}
	code, body, err := s.do(http.MethodPut, "/"+name, nil, s.SecretKey)
	if err != nil {
		t.Fatalf("testservers: creating bucket %q: %v", name, err)
	}
	if code != http.StatusOK {
		t.Fatalf("testservers: creating bucket %q: HTTP %d: %s", name, code, body)
	}
}

// PutObject writes an object through the S3 API (a signed PutObject, no
// checksum), as another client of the bucket would.
func (s *S3Server) PutObject(t testing.TB, bucket, key string, data []byte) {
	t.Helper()
	code, body, err := s.do(http.MethodPut, "/"+bucket+"/"+key, data, s.SecretKey)
	if err != nil {
		t.Fatalf("testservers: putting %s/%s: %v", bucket, key, err)
	}
	if code != http.StatusOK {
		t.Fatalf("testservers: putting %s/%s: HTTP %d: %s", bucket, key, code, body)
	}
}

// do sends a request signed with the root access key and secret (none when
// secret is empty) and returns the status and body.
func (s *S3Server) do(method, path string, body []byte, secret string) (int, string, error) {
	req, err := http.NewRequest(method, s.Endpoint+path, bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	if secret != "" {
		signV4(req, body, s.Region, s.AccessKey, secret, time.Now())
	}
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(b), err
}

// signV4 signs req for S3 with AWS Signature Version 4: enough for the
// helpers here (the path as the canonical URI, no query string).
func signV4(req *http.Request, payload []byte, region, accessKey, secretKey string, now time.Time) {
	now = now.UTC()
	amzDate, day := now.Format("20060102T150405Z"), now.Format("20060102")
	sum := sha256.Sum256(payload)
	payloadHash := hex.EncodeToString(sum[:])
	req.Header.Set("x-amz-date", amzDate)
	req.Header.Set("x-amz-content-sha256", payloadHash)
	const signed = "host;x-amz-content-sha256;x-amz-date"
	canonical := strings.Join([]string{
		req.Method, req.URL.EscapedPath(), req.URL.RawQuery,
		"host:" + req.URL.Host, "x-amz-content-sha256:" + payloadHash, "x-amz-date:" + amzDate, "",
		signed, payloadHash,
	}, "\n")
	scope := day + "/" + region + "/s3/aws4_request"
	ch := sha256.Sum256([]byte(canonical))
	toSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(ch[:])
	mac := func(key []byte, data string) []byte {
		h := hmac.New(sha256.New, key)
		h.Write([]byte(data))
		return h.Sum(nil)
	}
	k := mac([]byte("AWS4"+secretKey), day)
	k = mac(k, region)
	k = mac(k, "s3")
	k = mac(k, "aws4_request")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+accessKey+"/"+scope+
		", SignedHeaders="+signed+", Signature="+hex.EncodeToString(mac(k, toSign)))
}

// Env is the standard AWS environment of a client of this server: its
// credentials, region and endpoint (AWS_ENDPOINT_URL_S3), and no shared
// config files, profile, session token or instance metadata, so nothing
// from the developer's own AWS setup leaks in.
func (s *S3Server) Env() map[string]string {
	none := filepath.Join(s.Dir, ".no-aws-config")
	return map[string]string{
		"AWS_ACCESS_KEY_ID":           s.AccessKey,
		"AWS_SECRET_ACCESS_KEY":       s.SecretKey,
		"AWS_SESSION_TOKEN":           "",
		"AWS_REGION":                  s.Region,
		"AWS_ENDPOINT_URL_S3":         s.Endpoint,
		"AWS_PROFILE":                 "",
		"AWS_CONFIG_FILE":             none,
		"AWS_SHARED_CREDENTIALS_FILE": none,
		"AWS_EC2_METADATA_DISABLED":   "true",
	}
}

// SetEnv sets Env in the test's environment (t.Setenv), so that clients and
// child processes started by the test reach this server.
func (s *S3Server) SetEnv(t testing.TB) {
	t.Helper()
	for k, v := range s.Env() {
		t.Setenv(k, v)
	}
}

// s3Output collects a child's output; the child writes from two pipes.
type s3Output struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *s3Output) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() > 1<<20 {
		return len(p), nil // keep the first MiB
	}
	return b.buf.Write(p)
}

func (b *s3Output) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
