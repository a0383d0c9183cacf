package testservers

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Versions of the local Sigstore stack; .ci/install-test-servers.sh pins
// the same ones (TestInstallScriptPins checks).
const (
	// FulcioVersion is Fulcio (github.com/sigstore/fulcio), the certificate
	// authority.
	FulcioVersion = "v1.8.8"
	// RekorServerVersion is Rekor v2 (github.com/sigstore/rekor-tiles/v2,
	// its POSIX server cmd/rekor-server/posix), installed as rekor-server.
	RekorServerVersion = "v2.3.0"
	// TimestampServerVersion is the RFC 3161 timestamp authority
	// (github.com/sigstore/timestamp-authority/v2), installed as
	// timestamp-server.
	TimestampServerVersion = "v2.1.3"
)

// Sigstore is a real Sigstore instance on loopback for one test: an OIDC
// issuer, Fulcio with an ephemeral CA that trusts it (no CT log unless
// WithCTLog), Rekor v2 (rekor-tiles' POSIX server, its tiles served over
// HTTP beside its write API) and a timestamp authority with an in-memory
// signer. Clients find it through the trusted root and signing
// configuration it writes, as they find the public-good instance through
// TUF.
//
// Each service sits behind a Front, so a test can make it answer 5xx or be
// down. Everything stops when the test ends. The timestamp server's metrics
// port is fixed (2112), so stacks on one machine run one after another: a
// second StartSigstore waits (at most 10 minutes) for the first to stop, so
// start at most one in a test.
type Sigstore struct {
	// OIDC is the identity provider: Token mints ID tokens Fulcio accepts.
	OIDC *OIDCIssuer
	// Fulcio is the certificate authority (its base URL is Fulcio.URL).
	Fulcio *Front
	// Rekor is the transparency log, Rekor v2: writes go to
	// Rekor.URL+"/api/v2/log/entries", and the log's tiles and checkpoint
	// are read from Rekor.URL+"/checkpoint" and "/tile/...".
	Rekor *Front
	// TSA is the timestamp authority (base URL; see TSAURL).
	TSA *Front
	// TSAURL is the timestamp endpoint clients post RFC 3161 requests to:
	// TSA.URL+"/api/v1/timestamp".
	TSAURL string
	// CTLog is the certificate transparency log Fulcio submits to (its base
	// URL: CTLog.URL+"/ct/v1/..."); nil unless started WithCTLog.
	CTLog *Front
	ct    *ctLog

	// TrustedRoot is the path of trusted_root.json (Sigstore's TrustedRoot,
	// media type application/vnd.dev.sigstore.trustedroot+json;version=0.1):
	// Fulcio's CA chain, the Rekor v2 log's key and log ID with its base
	// URL, and the TSA's certificate chain; the CT log WithCTLog only.
	TrustedRoot string
	// SigningConfig is the path of signing_config.json (Sigstore's
	// SigningConfig v0.2): Fulcio, the OIDC issuer, Rekor v2
	// (majorApiVersion 2) and the TSA's URLs.
	SigningConfig string

	// RekorDir is Rekor's storage: the tiles and checkpoint it serves.
	RekorDir string
	// RekorPublicKey is the PEM of the log's checkpoint signing key (ECDSA
	// P-256), and RekorLogID its log ID (SHA-256 of the key's DER).
	RekorPublicKey []byte
	RekorLogID     []byte
	// FulcioChain and TSAChain are the PEM certificate chains of the CA
	// (its root) and of the TSA (leaf first).
	FulcioChain []byte
	TSAChain    []byte
}

// sigstoreStartTimeout bounds the wait for one server of the stack to answer.
const sigstoreStartTimeout = 60 * time.Second

// stackOperator names this stack in the signing configuration.
const stackOperator = "mmbuild-testservers"

// StartSigstore starts a local Sigstore instance on 127.0.0.1, writes its
// trusted root and signing configuration into a temporary folder, and stops
// it when the test ends. The binaries are found by Tool ("fulcio",
// "rekor-server", "timestamp-server", and "tesseract" WithCTLog); they start
// side by side and answer within seconds.
func StartSigstore(t testing.TB, opts ...SigstoreOption) *Sigstore {
	t.Helper()
	var o sigstoreOptions
	for _, opt := range opts {
		opt(&o)
	}
	fulcioBin := Tool(t, "fulcio")
	rekorBin := Tool(t, "rekor-server")
	tsaBin := Tool(t, "timestamp-server")
	ctBin := ""
	if o.ctLog {
		ctBin = Tool(t, "tesseract")
	}
	dir := t.TempDir()
	s := &Sigstore{OIDC: StartOIDCIssuer(t), RekorDir: filepath.Join(dir, "rekor")}
	if o.ctLog {
		var err error
		if s.ct, err = newCTLog(t, dir); err != nil {
			t.Fatalf("testservers: the CT log: %v", err)
		}
		s.CTLog = s.ct.front
	}

	var wg sync.WaitGroup
	errs := make([]error, 3)
	wg.Go(func() {
		if errs[0] = s.startFulcio(t, fulcioBin, dir); errs[0] == nil && s.ct != nil {
			// The log accepts chains to Fulcio's CA, new with each run.
			errs[0] = s.ct.start(t, ctBin, dir, s.FulcioChain)
		}
	})
	wg.Go(func() { errs[1] = s.startRekor(t, rekorBin, dir) })
	wg.Go(func() { errs[2] = s.startTSA(t, tsaBin) })
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("testservers: starting the Sigstore stack: %v", err)
	}
	if err := s.writeConfigs(dir); err != nil {
		t.Fatalf("testservers: %v", err)
	}
	return s
}

// Token mints an ID token for email from the stack's OIDC issuer (see
// OIDCIssuer.Token).
func (s *Sigstore) Token(t testing.TB, email string, opts ...TokenOption) string {
	t.Helper()
	return s.OIDC.Token(t, email, opts...)
}

// Issuer is the OIDC issuer URL, what Fulcio writes into a certificate's
// issuer extension and what cosign's --certificate-oidc-issuer names.
func (s *Sigstore) Issuer() string { return s.OIDC.URL }

// startWithRetry runs start with fresh free ports, up to three times: a free
// port can be taken before the server binds it.
func startWithRetry(name string, ports int, start func(ports []string) error) error {
	var lastErr error
	for range 3 {
		ps := make([]string, ports)
		for i := range ps {
			addr, err := s3FreeAddr()
			if err != nil {
				return fmt.Errorf("%s: finding a free port: %w", name, err)
			}
			_, ps[i], _ = strings.Cut(addr, ":")
		}
		if lastErr = start(ps); lastErr == nil {
			return nil
		}
	}
	return fmt.Errorf("%s: %w", name, lastErr)
}

// probeClient is the client that asks the stack's servers whether they are
// up and for their keys: bounded, so a server that accepts and never
// answers cannot hang a test.
var probeClient = &http.Client{Timeout: 10 * time.Second}

// answers reports whether GET url answers 200.
func answers(url string) func() bool {
	return func() bool {
		resp, err := probeClient.Get(url)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode == http.StatusOK
	}
}

// startFulcio starts Fulcio with an ephemeral CA (a new root for each run),
// trusting the stack's OIDC issuer (client ID "sigstore") for email
// identities and its CI issuers for GitHub Actions and GitLab CI job
// identities, without a CT log.
func (s *Sigstore) startFulcio(t testing.TB, bin, dir string) error {
	conf := filepath.Join(dir, "fulcio-config.yaml")
	if err := os.WriteFile(conf, []byte(fulcioIssuers(s.OIDC.URL)), 0o644); err != nil {
		return fmt.Errorf("fulcio: %w", err)
	}
	// The legacy gRPC API listens on a unix socket, whose path must be short.
	sockDir, err := os.MkdirTemp("", "fulcio")
	if err != nil {
		return fmt.Errorf("fulcio: %w", err)
	}
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	var backend string
	err = startWithRetry("fulcio", 3, func(p []string) error {
		backend = "http://127.0.0.1:" + p[0]
		// HTTP and gRPC on ports of their own: serving both on one port
		// (Fulcio's duplex mode) panics in v1.8.8 registering its metrics.
		cmd := exec.Command(bin, "serve", "--ca=ephemeralca", "--config-path="+conf,
			"--host=127.0.0.1", "--port="+p[0], "--grpc-host=127.0.0.1", "--grpc-port="+p[1],
			"--metrics-port="+p[2], "--legacy-unix-domain-socket="+filepath.Join(sockDir, "legacy.sock"),
			"--log_type=prod")
		if s.ct != nil {
			cmd.Args = append(cmd.Args, "--ct-log-url="+s.ct.front.URL, "--ct-log-public-key-path="+s.ct.pubFile)
		} else {
			cmd.Args = append(cmd.Args, "--ct-log-url=")
		}
		cmd.Dir = dir
		return runServer(t, cmd, "fulcio", backend, sigstoreStartTimeout, answers(backend+"/api/v2/trustBundle"))
	})
	if err != nil {
		return err
	}
	if s.Fulcio, err = newProxyFront(t, backend, nil); err != nil {
		return fmt.Errorf("fulcio: %w", err)
	}
	var bundle struct {
		Chains []struct{ Certificates []string } `json:"chains"`
	}
	if err := getJSON(backend+"/api/v2/trustBundle", &bundle); err != nil {
		return fmt.Errorf("fulcio: reading its trust bundle: %w", err)
	}
	if len(bundle.Chains) == 0 || len(bundle.Chains[0].Certificates) == 0 {
		return errors.New("fulcio: its trust bundle has no chain")
	}
	for _, c := range bundle.Chains[0].Certificates {
		s.FulcioChain = append(s.FulcioChain, []byte(strings.TrimSpace(c)+"\n")...)
	}
	return nil
}

// startRekor starts rekor-tiles' POSIX server with a new ECDSA P-256
// checkpoint key and the origin 127.0.0.1 (the host of its URL, which is
// what verifiers take the origin to be), publishing a checkpoint every
// second. Its front sends the write API to the server and serves the tiles
// and checkpoint from its storage, as a web server in front of a POSIX log
// does.
func (s *Sigstore) startRekor(t testing.TB, bin, dir string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("rekor: key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("rekor: key: %w", err)
	}
	keyFile := filepath.Join(dir, "rekor-key.pem")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return fmt.Errorf("rekor: %w", err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return fmt.Errorf("rekor: key: %w", err)
	}
	sum := sha256.Sum256(pub) // rekor-tiles' log ID of an ECDSA key (pkg/note.KeyHash)
	s.RekorPublicKey = pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})
	s.RekorLogID = sum[:]
	if err := os.MkdirAll(s.RekorDir, 0o755); err != nil {
		return fmt.Errorf("rekor: %w", err)
	}
	var backend string
	err = startWithRetry("rekor-server", 3, func(p []string) error {
		backend = "http://127.0.0.1:" + p[0]
		cmd := exec.Command(bin, "serve", "--hostname=127.0.0.1",
			"--http-address=127.0.0.1", "--http-port="+p[0],
			"--grpc-address=127.0.0.1", "--grpc-port="+p[1], "--http-metrics-port="+p[2],
			"--storage-dir="+s.RekorDir, "--signer-filepath="+keyFile,
			"--checkpoint-interval=1s", "--batch-max-age=50ms", "--log-level=warn")
		cmd.Dir = dir
		return runServer(t, cmd, "rekor-server", backend, sigstoreStartTimeout, answers(backend+"/healthz"))
	})
	if err != nil {
		return err
	}
	u, err := url.Parse(backend)
	if err != nil {
		return fmt.Errorf("rekor: %w", err)
	}
	api := newProxy(u)
	tiles := http.FileServer(http.Dir(s.RekorDir))
	mux := http.NewServeMux()
	mux.Handle("/api/", api)
	mux.Handle("/healthz", api)
	mux.Handle("GET /checkpoint", tiles)
	mux.Handle("GET /tile/", tiles)
	if s.Rekor, err = newFront(t, mux, nil); err != nil {
		return fmt.Errorf("rekor: %w", err)
	}
	return nil
}

// startTSA starts the timestamp authority with its in-memory signer (a new
// certificate chain for each run) and no NTP monitoring (no network).
func (s *Sigstore) startTSA(t testing.TB, bin string) error {
	// The timestamp server serves its metrics on the fixed port 2112 and
	// exits when that is taken: one runs on this machine at a time.
	if err := lockTSAMetricsPort(t); err != nil {
		return fmt.Errorf("timestamp-server: %w", err)
	}
	var backend string
	err := startWithRetry("timestamp-server", 1, func(p []string) error {
		backend = "http://127.0.0.1:" + p[0]
		cmd := exec.Command(bin, "serve", "--host=127.0.0.1", "--port="+p[0], "--scheme=http",
			"--timestamp-signer=memory", "--disable-ntp-monitoring", "--log-type=prod")
		return runServer(t, cmd, "timestamp-server", backend, sigstoreStartTimeout, answers(backend+"/api/v1/timestamp/certchain"))
	})
	if err != nil {
		return err
	}
	if s.TSA, err = newProxyFront(t, backend, nil); err != nil {
		return fmt.Errorf("timestamp-server: %w", err)
	}
	s.TSAURL = s.TSA.URL + "/api/v1/timestamp"
	resp, err := probeClient.Get(backend + "/api/v1/timestamp/certchain")
	if err != nil {
		return fmt.Errorf("timestamp-server: reading its certificate chain: %w", err)
	}
	defer resp.Body.Close()
	if s.TSAChain, err = io.ReadAll(io.LimitReader(resp.Body, 1<<20)); err != nil {
		return fmt.Errorf("timestamp-server: reading its certificate chain: %w", err)
	}
	return nil
}

func getJSON(url string, v any) error {
	resp, err := probeClient.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(v)
}
