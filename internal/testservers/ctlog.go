package testservers

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// TesseraCTVersion is TesseraCT (github.com/transparency-dev/tesseract, its
// POSIX server cmd/tesseract/posix), a static-ct-api certificate
// transparency log, installed as tesseract; .ci/install-test-servers.sh
// installs the same one.
const TesseraCTVersion = "v0.1.1"

// SigstoreOption adjusts the stack StartSigstore starts.
type SigstoreOption func(*sigstoreOptions)

type sigstoreOptions struct{ ctLog bool }

// WithCTLog adds a certificate transparency log (TesseraCT) that Fulcio
// submits every precertificate to, so that its certificates carry an SCT
// and the trusted root names the log (Sigstore.CTLog). Default: no CT log,
// and certificates without SCTs (verifiers then need cosign's
// --insecure-ignore-sct or its like).
func WithCTLog() SigstoreOption { return func(o *sigstoreOptions) { o.ctLog = true } }

// ctLog is the CT log's key and the front Fulcio submits to: the front
// exists before the log, whose roots (Fulcio's new CA) are known only once
// Fulcio runs.
type ctLog struct {
	front   *Front
	backend *lateProxy
	keyFile string // ECDSA P-256, SEC 1 PEM (what TesseraCT reads)
	pubFile string // its public key, PEM (what Fulcio checks SCTs with)
	pubDER  []byte
}

// newCTLog makes the log's key and its front.
func newCTLog(t testing.TB, dir string) (*ctLog, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	c := &ctLog{backend: &lateProxy{}, keyFile: filepath.Join(dir, "ct-key.pem"), pubFile: filepath.Join(dir, "ct-pub.pem")}
	if c.pubDER, err = x509.MarshalPKIXPublicKey(&key.PublicKey); err != nil {
		return nil, err
	}
	if err := os.WriteFile(c.keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(c.pubFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: c.pubDER}), 0o644); err != nil {
		return nil, err
	}
	if c.front, err = newFront(t, c.backend, nil); err != nil {
		return nil, err
	}
	return c, nil
}

// logID is the CT log ID: the SHA-256 of the log's public key (RFC 6962).
func (c *ctLog) logID() []byte {
	sum := sha256.Sum256(c.pubDER)
	return sum[:]
}

// start runs TesseraCT accepting chains to the roots in rootsPEM.
func (c *ctLog) start(t testing.TB, bin, dir string, rootsPEM []byte) error {
	roots := filepath.Join(dir, "ct-roots.pem")
	if err := os.WriteFile(roots, rootsPEM, 0o644); err != nil {
		return fmt.Errorf("tesseract: %w", err)
	}
	storage := filepath.Join(dir, "ctlog")
	if err := os.MkdirAll(storage, 0o755); err != nil {
		return fmt.Errorf("tesseract: %w", err)
	}
	var backend string
	err := startWithRetry("tesseract", 1, func(p []string) error {
		backend = "http://127.0.0.1:" + p[0]
		cmd := exec.Command(bin, "--http_endpoint=127.0.0.1:"+p[0], "--origin=127.0.0.1",
			"--storage_dir="+storage, "--private_key="+c.keyFile, "--roots_pem_file="+roots,
			"--enable_publication_awaiter=false", "--checkpoint_interval=1s")
		cmd.Dir = dir
		return runServer(t, cmd, "tesseract", backend, sigstoreStartTimeout, answers(backend+"/ct/v1/get-roots"))
	})
	if err != nil {
		return err
	}
	return c.backend.set(backend)
}

// lateProxy is a reverse proxy whose backend is set once it runs; until
// then it answers 503.
type lateProxy struct {
	mu sync.Mutex
	h  http.Handler
}

func (l *lateProxy) set(backend string) error {
	u, err := url.Parse(backend)
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.h = newProxy(u)
	return nil
}

func (l *lateProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	l.mu.Lock()
	h := l.h
	l.mu.Unlock()
	if h == nil {
		http.Error(w, "testservers: the CT log has not started", http.StatusServiceUnavailable)
		return
	}
	h.ServeHTTP(w, r)
}
