package signing

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"github.com/secure-systems-lab/go-securesystemslib/signerverifier"
)

// Algorithm names a key type.
type Algorithm string

// The key types. ECDSAP256 is the default: it is what cosign generates and
// verifies.
const (
	ECDSAP256 Algorithm = "ecdsa-p256"
	Ed25519   Algorithm = "ed25519"
	RSA       Algorithm = "rsa" // 3072 bits when generated, 2048 at least when loaded
)

// DefaultAlgorithm is the key type Generate uses for "".
const DefaultAlgorithm = ECDSAP256

// rsaBits is the size of generated RSA keys; rsaMinBits the smallest accepted.
const (
	rsaBits    = 3072
	rsaMinBits = 2048
)

// Algorithms lists the key types, default first.
func Algorithms() []Algorithm { return []Algorithm{ECDSAP256, Ed25519, RSA} }

// ParseAlgorithm reads a key type name; "" is the default.
func ParseAlgorithm(s string) (Algorithm, error) {
	if s == "" {
		return DefaultAlgorithm, nil
	}
	for _, a := range Algorithms() {
		if strings.EqualFold(s, string(a)) {
			return a, nil
		}
	}
	names := make([]string, 0, 3)
	for _, a := range Algorithms() {
		names = append(names, string(a))
	}
	return "", fmt.Errorf("unknown key type %q (want one of %s)", s, strings.Join(names, ", "))
}

// Signer signs with one private key.
type Signer interface {
	// KeyID is the hex sha256 of the PKIX DER public key.
	KeyID() string
	// Algorithm is the key type.
	Algorithm() Algorithm
	// Public is the public half of the key.
	Public() crypto.PublicKey
	// Sign signs data (a DSSE pre-authentication encoding) and returns the
	// raw signature bytes.
	Sign(ctx context.Context, data []byte) ([]byte, error)
}

// Verifier checks signatures made with one public key.
type Verifier interface {
	// KeyID is the hex sha256 of the PKIX DER public key.
	KeyID() string
	// Algorithm is the key type.
	Algorithm() Algorithm
	// Public is the key.
	Public() crypto.PublicKey
	// Verify returns nil if sig is a signature of data by this key.
	Verify(ctx context.Context, data, sig []byte) error
}

// ErrEncryptedKey is returned for a password-protected private key, which
// this package does not read.
var ErrEncryptedKey = errors.New("the private key is encrypted; give an unencrypted PKCS#8 key (mmbuild keys generate, or openssl pkcs8 -topk8 -nocrypt)")

// Generate makes a new key pair and returns it PEM encoded: the private key
// as PKCS#8 ("PRIVATE KEY"), the public key as PKIX ("PUBLIC KEY").
func Generate(alg Algorithm) (privPEM, pubPEM []byte, err error) {
	if alg == "" {
		alg = DefaultAlgorithm
	}
	var priv crypto.Signer
	switch alg {
	case ECDSAP256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case Ed25519:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	case RSA:
		priv, err = rsa.GenerateKey(rand.Reader, rsaBits)
	default:
		return nil, nil, fmt.Errorf("generating key: unknown key type %q", alg)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("generating %s key: %w", alg, err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, nil, fmt.Errorf("encoding %s private key: %w", alg, err)
	}
	pubPEM, err = PublicKeyPEM(priv.Public())
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), pubPEM, nil
}

// PublicKeyPEM encodes a public key as a PKIX "PUBLIC KEY" PEM block.
func PublicKeyPEM(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("encoding public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// KeyID returns the lower-case hex sha256 of the key's PKIX DER encoding.
func KeyID(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("computing key id: %w", err)
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:]), nil
}

// LoadSigner reads a PEM private key: from a file's contents or from a
// secret's value (surrounding whitespace is ignored).
func LoadSigner(pemBytes []byte) (Signer, error) {
	block, err := onePEMBlock(pemBytes)
	if err != nil {
		return nil, fmt.Errorf("loading private key: %w", err)
	}
	if strings.HasPrefix(block.Type, "ENCRYPTED") || block.Headers["Proc-Type"] != "" {
		return nil, fmt.Errorf("loading private key: %w", ErrEncryptedKey)
	}
	var key any
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "PUBLIC KEY":
		return nil, errors.New("loading private key: this is a public key (sign with the .key file, verify with the .pub)")
	default:
		return nil, fmt.Errorf("loading private key: unsupported PEM block %q (want PRIVATE KEY)", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("loading private key: parsing %s: %w", block.Type, err)
	}
	priv, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("loading private key: unsupported key type %T", key)
	}
	k, err := newKey(priv.Public(), priv)
	if err != nil {
		return nil, fmt.Errorf("loading private key: %w", err)
	}
	return k, nil
}

// LoadVerifier reads a PEM PKIX public key ("PUBLIC KEY").
func LoadVerifier(pemBytes []byte) (Verifier, error) {
	block, err := onePEMBlock(pemBytes)
	if err != nil {
		return nil, fmt.Errorf("loading public key: %w", err)
	}
	switch {
	case block.Type == "PUBLIC KEY":
	case strings.HasSuffix(block.Type, "PRIVATE KEY"):
		return nil, errors.New("loading public key: this is a private key; give the public key (.pub) instead and keep the private key secret")
	default:
		return nil, fmt.Errorf("loading public key: unsupported PEM block %q (want PUBLIC KEY)", block.Type)
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("loading public key: %w", err)
	}
	k, err := newKey(pub, nil)
	if err != nil {
		return nil, fmt.Errorf("loading public key: %w", err)
	}
	return k, nil
}

// NewVerifier returns the verifier of a public key, such as a Signer's
// Public().
func NewVerifier(pub crypto.PublicKey) (Verifier, error) {
	return newKey(pub, nil)
}

func onePEMBlock(data []byte) (*pem.Block, error) {
	block, rest := pem.Decode([]byte(strings.TrimSpace(string(data))))
	if block == nil {
		return nil, errors.New("no PEM block found")
	}
	if len(strings.TrimSpace(string(rest))) != 0 {
		return nil, errors.New("more than one PEM block, or data after the PEM block")
	}
	return block, nil
}

// key is a Signer (priv set) and a Verifier, backed by securesystemslib's
// signerverifier implementations.
type key struct {
	alg     Algorithm
	id      string
	pub     crypto.PublicKey
	hasPriv bool
	sv      interface {
		Sign(context.Context, []byte) ([]byte, error)
		Verify(context.Context, []byte, []byte) error
	}
}

var (
	_ Signer   = (*key)(nil)
	_ Verifier = (*key)(nil)
)

func newKey(pub crypto.PublicKey, priv crypto.Signer) (*key, error) {
	var alg Algorithm
	switch p := pub.(type) {
	case *ecdsa.PublicKey:
		if p.Curve != elliptic.P256() {
			return nil, fmt.Errorf("ECDSA curve %s is not supported (use P-256)", p.Curve.Params().Name)
		}
		alg = ECDSAP256
	case ed25519.PublicKey:
		alg = Ed25519
	case *rsa.PublicKey:
		if p.N.BitLen() < rsaMinBits {
			return nil, fmt.Errorf("RSA key of %d bits is too small (at least %d)", p.N.BitLen(), rsaMinBits)
		}
		alg = RSA
	default:
		return nil, fmt.Errorf("unsupported key type %T (want ECDSA P-256, Ed25519 or RSA)", pub)
	}
	id, err := KeyID(pub)
	if err != nil {
		return nil, err
	}
	pubPEM, err := PublicKeyPEM(pub)
	if err != nil {
		return nil, err
	}
	ssl := &signerverifier.SSLibKey{KeyID: id, KeyVal: signerverifier.KeyVal{Public: string(pubPEM)}}
	if priv != nil {
		der, err := x509.MarshalPKCS8PrivateKey(priv)
		if err != nil {
			return nil, fmt.Errorf("encoding private key: %w", err)
		}
		ssl.KeyVal.Private = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	}
	k := &key{alg: alg, id: id, pub: pub, hasPriv: priv != nil}
	switch alg {
	case ECDSAP256:
		ssl.KeyType, ssl.Scheme = signerverifier.ECDSAKeyType, signerverifier.ECDSAKeyScheme
		k.sv, err = signerverifier.NewECDSASignerVerifierFromSSLibKey(ssl)
	case Ed25519:
		// securesystemslib keeps Ed25519 keys as hex of the raw bytes.
		ssl.KeyType, ssl.Scheme = signerverifier.ED25519KeyType, signerverifier.ED25519KeyType
		ssl.KeyVal.Public = hex.EncodeToString(pub.(ed25519.PublicKey))
		if priv != nil {
			ssl.KeyVal.Private = hex.EncodeToString(priv.(ed25519.PrivateKey))
		}
		k.sv, err = signerverifier.NewED25519SignerVerifierFromSSLibKey(ssl)
	case RSA:
		ssl.KeyType, ssl.Scheme = signerverifier.RSAKeyType, signerverifier.RSAKeyScheme
		k.sv, err = signerverifier.NewRSAPSSSignerVerifierFromSSLibKey(ssl)
	}
	if err != nil {
		return nil, err
	}
	return k, nil
}

func (k *key) KeyID() string            { return k.id }
func (k *key) Algorithm() Algorithm     { return k.alg }
func (k *key) Public() crypto.PublicKey { return k.pub }

func (k *key) Sign(ctx context.Context, data []byte) ([]byte, error) {
	if !k.hasPriv {
		return nil, errors.New("signing: no private key")
	}
	sig, err := k.sv.Sign(ctx, data)
	if err != nil {
		return nil, fmt.Errorf("signing with %s key %s: %w", k.alg, k.id, err)
	}
	return sig, nil
}

func (k *key) Verify(ctx context.Context, data, sig []byte) error {
	if err := k.sv.Verify(ctx, data, sig); err != nil {
		return fmt.Errorf("%s key %s: %w", k.alg, k.id, err)
	}
	return nil
}
