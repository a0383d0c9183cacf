package testservers

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// LocalKMSVersion is github.com/nsmithuk/local-kms, a local AWS KMS: it has
// no tagged release in the module proxy, so a pseudo-version pins it;
// .ci/install-test-servers.sh installs the same one.
const LocalKMSVersion = "v0.0.0-20260228092603-2a5e92d09ab6"

// LocalKMS is local-kms (an AWS KMS with real ECDSA, RSA and AES keys) on
// loopback for one test, behind a TLS front with a test CA: sigstore's
// awskms:// client always speaks https to an endpoint it is given.
//
// Clients reach it with the environment in Env (dummy credentials, the
// region, AWS_CA_BUNDLE) and a key URI of the form
// awskms://127.0.0.1:<port>/alias/<name> (or .../<key id>), which is how
// sigstore/sigstore's pkg/signature/kms/aws names a key at an endpoint.
type LocalKMS struct {
	// Endpoint is https://127.0.0.1:<port>; Host is 127.0.0.1:<port>, what
	// an awskms:// URI names.
	Endpoint string
	Host     string
	// Front serves the endpoint; it can be made to fail or be down.
	Front *Front
	// CAFile is the PEM of the CA that signed the endpoint's certificate.
	CAFile string
	// Region, AccessKeyID and SecretAccessKey are what a client sends
	// (local-kms checks none of the credentials).
	Region          string
	AccessKeyID     string
	SecretAccessKey string
	// Env is the environment an AWS client needs, as NAME=VALUE:
	// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_CA_BUNDLE,
	// and AWS_EC2_METADATA_DISABLED=true (no instance metadata lookups).
	Env []string

	// SignKey is an ECDSA P-256 key for SIGN_VERIFY (ECDSA_SHA_256).
	SignKey KMSKey
	// EncryptKey is an AES key for ENCRYPT_DECRYPT: it exists, has no public
	// key and may not sign.
	EncryptKey KMSKey
	// EncryptRSAKey is an RSA 2048 key for ENCRYPT_DECRYPT: it has a public
	// key but no signing algorithm, and may not sign.
	EncryptRSAKey KMSKey
}

// KMSKey is a key in local-kms.
type KMSKey struct {
	// ID is the key's ID (a UUID), Alias its alias ("alias/<name>").
	ID    string
	Alias string
	// URI is the awskms:// reference by alias, what cosign's --key and
	// mmbuild's signing key take: awskms://127.0.0.1:<port>/alias/<name>.
	URI string
	// PublicKeyPEM is the key's public key (PKIX); empty for AES.
	PublicKeyPEM []byte
}

// URI returns the awskms:// reference of key (an alias "alias/NAME", a key
// ID, or an ARN) at this endpoint; the key need not exist.
func (k *LocalKMS) URI(key string) string { return "awskms://" + k.Host + "/" + key }

// Fixed dummy credentials and the account local-kms names ARNs with; the
// server lives on loopback for one test.
const (
	kmsRegion    = "us-east-1"
	kmsAccessKey = "mmbuild-test-access"
	kmsSecretKey = "mmbuild-test-secret-key-0123456789"
	kmsAccount   = "111122223333"
)

// kmsRSAKey is the RSA key local-kms is seeded with, made once per test
// binary: generating one takes a while.
var kmsRSAKey = sync.OnceValues(func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) })

// StartLocalKMS starts local-kms, seeded with SignKey, EncryptKey and
// EncryptRSAKey, and its TLS front on 127.0.0.1, and stops them when the test
// ends. The binary is found by Tool ("local-kms"). local-kms itself listens
// on every interface of a free port (it has no setting for the address);
// clients use the front.
func StartLocalKMS(t testing.TB) *LocalKMS {
	t.Helper()
	bin := Tool(t, "local-kms")
	dir := t.TempDir()
	k := &LocalKMS{Region: kmsRegion, AccessKeyID: kmsAccessKey, SecretAccessKey: kmsSecretKey}
	seed, err := k.seed()
	if err != nil {
		t.Fatalf("testservers: local-kms keys: %v", err)
	}
	seedFile := filepath.Join(dir, "seed.yaml")
	if err := os.WriteFile(seedFile, seed, 0o600); err != nil {
		t.Fatalf("testservers: %v", err)
	}
	var backend string
	err = startWithRetry("local-kms", 1, func(p []string) error {
		backend = "http://127.0.0.1:" + p[0]
		cmd := exec.Command(bin)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "PORT="+p[0], "KMS_REGION="+kmsRegion, "KMS_ACCOUNT_ID="+kmsAccount,
			"KMS_SEED_PATH="+seedFile, "KMS_DATA_PATH="+filepath.Join(dir, "data"))
		return runServer(t, cmd, "local-kms", backend, sigstoreStartTimeout, kmsAnswers(backend))
	})
	if err != nil {
		t.Fatalf("testservers: starting %s: %v", bin, err)
	}
	cert, caPEM, err := newTestCA()
	if err != nil {
		t.Fatalf("testservers: test CA: %v", err)
	}
	k.CAFile = filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(k.CAFile, caPEM, 0o644); err != nil {
		t.Fatalf("testservers: %v", err)
	}
	front, err := newProxyFront(t, backend, &cert)
	if err != nil {
		t.Fatalf("testservers: local-kms front: %v", err)
	}
	k.Front, k.Endpoint = front, front.URL
	k.Host = strings.TrimPrefix(front.URL, "https://")
	k.Env = []string{
		"AWS_ACCESS_KEY_ID=" + kmsAccessKey,
		"AWS_SECRET_ACCESS_KEY=" + kmsSecretKey,
		"AWS_REGION=" + kmsRegion,
		"AWS_CA_BUNDLE=" + k.CAFile,
		"AWS_EC2_METADATA_DISABLED=true",
	}
	for _, key := range []*KMSKey{&k.SignKey, &k.EncryptKey, &k.EncryptRSAKey} {
		key.URI = k.URI(key.Alias)
	}
	return k
}

// kmsAnswers reports whether local-kms answers a ListKeys call.
func kmsAnswers(backend string) func() bool {
	return func() bool {
		req, err := http.NewRequest(http.MethodPost, backend+"/", strings.NewReader("{}"))
		if err != nil {
			return false
		}
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		req.Header.Set("X-Amz-Target", "TrentService.ListKeys")
		resp, err := probeClient.Do(req)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode == http.StatusOK
	}
}

// seed makes the keys and returns local-kms' seed file for them.
func (k *LocalKMS) seed() ([]byte, error) {
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	ecDER, err := x509.MarshalECPrivateKey(ec) // local-kms reads SEC 1 for ECC
	if err != nil {
		return nil, err
	}
	rsaKey, err := kmsRSAKey()
	if err != nil {
		return nil, err
	}
	rsaDER, err := x509.MarshalPKCS8PrivateKey(rsaKey)
	if err != nil {
		return nil, err
	}
	aes := make([]byte, 32)
	if _, err := rand.Read(aes); err != nil {
		return nil, err
	}
	k.SignKey = KMSKey{ID: newUUID(), Alias: "alias/mmbuild-sign"}
	k.EncryptKey = KMSKey{ID: newUUID(), Alias: "alias/mmbuild-encrypt"}
	k.EncryptRSAKey = KMSKey{ID: newUUID(), Alias: "alias/mmbuild-encrypt-rsa"}
	if k.SignKey.PublicKeyPEM, err = publicPEM(&ec.PublicKey); err != nil {
		return nil, err
	}
	if k.EncryptRSAKey.PublicKeyPEM, err = publicPEM(&rsaKey.PublicKey); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "Keys:\n  Symmetric:\n    Aes:\n")
	fmt.Fprintf(&b, "      - Metadata:\n          KeyId: %s\n        BackingKeys:\n          - %s\n", k.EncryptKey.ID, hex.EncodeToString(aes))
	fmt.Fprintf(&b, "  Asymmetric:\n    Ecc:\n")
	fmt.Fprintf(&b, "      - Metadata:\n          KeyId: %s\n          KeyUsage: SIGN_VERIFY\n        PrivateKeyPem: |\n%s", k.SignKey.ID,
		indent(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecDER}), "          "))
	fmt.Fprintf(&b, "    Rsa:\n")
	fmt.Fprintf(&b, "      - Metadata:\n          KeyId: %s\n          KeyUsage: ENCRYPT_DECRYPT\n        PrivateKeyPem: |\n%s", k.EncryptRSAKey.ID,
		indent(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: rsaDER}), "          "))
	fmt.Fprintf(&b, "Aliases:\n")
	for _, key := range []KMSKey{k.SignKey, k.EncryptKey, k.EncryptRSAKey} {
		fmt.Fprintf(&b, "  - AliasName: %s\n    TargetKeyId: %s\n", key.Alias, key.ID)
	}
	return b.Bytes(), nil
}

func publicPEM(pub any) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// indent prefixes every line of text with prefix.
func indent(text []byte, prefix string) string {
	var b strings.Builder
	for line := range strings.SplitSeq(strings.TrimRight(string(text), "\n"), "\n") {
		b.WriteString(prefix + line + "\n")
	}
	return b.String()
}

// newUUID is a random (version 4) UUID, as KMS key IDs are.
func newUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
