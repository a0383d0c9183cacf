package signing

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/sign"
	"google.golang.org/protobuf/encoding/protojson"
)

// Bundler is a Signer that makes the whole Sigstore bundle of what it
// signs itself: keyless signing, whose bundle holds a certificate, a log
// entry and a timestamp besides the signature. SignForms uses it in place
// of Sign.
type Bundler interface {
	// SignBundle signs payload as a DSSE envelope of payloadType and
	// returns the envelope and its Sigstore bundle v0.3 (compact JSON).
	SignBundle(ctx context.Context, payloadType string, payload []byte) (*Envelope, []byte, error)
}

// Keyless signing's service timeouts (each service gets one retry).
const (
	fulcioTimeout = 30 * time.Second
	rekorTimeout  = 90 * time.Second
	tsaTimeout    = 30 * time.Second
)

// KeylessSigner signs keylessly, through sigstore-go's pkg/sign: for each
// statement an ephemeral ECDSA P-256 key made in memory and dropped after
// it, a Fulcio certificate for the identity of the OIDC token, an RFC 3161
// timestamp from each timestamp authority and an entry in each Rekor log
// (v2 preferred, v1 accepted: what the signing configuration offers), in a
// Sigstore bundle v0.3 that is verified under the trusted root before it
// is returned. Which instance: a signing configuration and a trusted root
// in Sigstore's JSON formats (LoadSigningConfig, LoadTrustedRoot), the
// public-good instance's by default.
//
// It is a Signer for the run's sake, but a keyless signature is a
// bundle, not a signature by a key: KeyID is "" and Public nil, and Sign
// refuses (SignForms calls SignBundle).
type KeylessSigner struct {
	token  TokenSource
	config *root.SigningConfig
	root   root.TrustedMaterial
}

var (
	_ Signer  = (*KeylessSigner)(nil)
	_ Bundler = (*KeylessSigner)(nil)
)

// NewKeylessSigner returns a keyless signer that finds its token with ts
// and its services in sc, and checks what it signs under tr.
func NewKeylessSigner(ts TokenSource, sc *root.SigningConfig, tr root.TrustedMaterial) (*KeylessSigner, error) {
	if sc == nil || tr == nil {
		return nil, errors.New("keyless signing: a signing configuration and a trusted root are both needed")
	}
	if ts.LookupEnv == nil {
		return nil, errors.New("keyless signing: no environment to find the identity token in")
	}
	return &KeylessSigner{token: ts, config: sc, root: tr}, nil
}

// LoadSigningConfig reads a signing configuration in Sigstore's JSON
// format (signing_config.json, v0.2): the Fulcio, Rekor and timestamp
// authority URLs.
func LoadSigningConfig(path string) (*root.SigningConfig, error) {
	sc, err := root.NewSigningConfigFromPath(path)
	if err != nil {
		return nil, fmt.Errorf("reading signing config %s: %w", path, err)
	}
	return sc, nil
}

// PublicGoodSigningConfig fetches the public-good instance's signing
// configuration through its TUF repository.
func PublicGoodSigningConfig() (*root.SigningConfig, error) {
	sc, err := root.FetchSigningConfig()
	if err != nil {
		return nil, fmt.Errorf("fetching the public-good signing config (give --signing-config FILE for another instance): %w", err)
	}
	return sc, nil
}

func (*KeylessSigner) KeyID() string            { return "" }
func (*KeylessSigner) Algorithm() Algorithm     { return ECDSAP256 }
func (*KeylessSigner) Public() crypto.PublicKey { return nil }

// Sign refuses: a keyless signature is made with its bundle (SignBundle).
func (*KeylessSigner) Sign(context.Context, []byte) ([]byte, error) {
	return nil, errors.New("keyless signing makes a Sigstore bundle, not a bare signature")
}

// SignBundle signs keylessly (see KeylessSigner). Its errors name the
// service that failed and never hold the token.
func (k *KeylessSigner) SignBundle(ctx context.Context, payloadType string, payload []byte) (*Envelope, []byte, error) {
	tok, from, err := k.token.Token(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("keyless signing: %w", err)
	}
	scrub := func(err error) error { return scrubbed(err, tok) }
	opts, watch, err := k.services(tok)
	if err != nil {
		return nil, nil, fmt.Errorf("keyless signing: %w", err)
	}
	opts.Context = ctx
	keypair, err := sign.NewEphemeralKeypair(nil)
	if err != nil {
		return nil, nil, fmt.Errorf("keyless signing: making the ephemeral key: %w", err)
	}
	pb, err := sign.Bundle(&sign.DSSEData{Data: payload, PayloadType: payloadType}, keypair, opts)
	if err != nil {
		return nil, nil, fmt.Errorf("keyless signing with the identity token from %s: %w", from, scrub(watch.explain(oneLineErr(err))))
	}
	data, err := marshalBundle(pb)
	if err != nil {
		return nil, nil, fmt.Errorf("keyless signing: %w", err)
	}
	env := &Envelope{PayloadType: payloadType, Payload: payload}
	for _, s := range pb.GetDsseEnvelope().GetSignatures() {
		env.Signatures = append(env.Signatures, Signature{KeyID: s.GetKeyid(), Sig: s.GetSig()})
	}
	if len(env.Signatures) != 1 {
		return nil, nil, fmt.Errorf("keyless signing: the bundle holds %d signatures, want 1", len(env.Signatures))
	}
	return env, data, nil
}

// services picks Fulcio, the Rekor logs and the timestamp authorities of
// the signing configuration that sigstore-go speaks to, valid now.
func (k *KeylessSigner) services(tok string) (sign.BundleOptions, watchers, error) {
	now := time.Now()
	sc := k.config
	var watch watchers
	opts := sign.BundleOptions{TrustedRoot: k.root, CertificateProviderOptions: &sign.CertificateProviderOptions{IDToken: tok}}
	fulcio, err := root.SelectService(sc.FulcioCertificateAuthorityURLs(), sign.FulcioAPIVersions, now)
	if err != nil {
		return opts, nil, fmt.Errorf("the signing config names no Fulcio: %w", err)
	}
	opts.CertificateProvider = sign.NewFulcio(&sign.FulcioOptions{BaseURL: fulcio.URL, Timeout: fulcioTimeout, Retries: 1, Transport: watch.add("Fulcio", fulcio.URL)})
	logs, err := root.SelectServices(sc.RekorLogURLs(), sc.RekorLogURLsConfig(), sign.RekorAPIVersions, now)
	if err != nil {
		return opts, nil, fmt.Errorf("the signing config names no Rekor log: %w", err)
	}
	for _, l := range logs {
		opts.TransparencyLogs = append(opts.TransparencyLogs, sign.NewRekor(&sign.RekorOptions{BaseURL: l.URL, Timeout: rekorTimeout, Retries: 1, Version: l.MajorAPIVersion}))
	}
	tsas, err := root.SelectServices(sc.TimestampAuthorityURLs(), sc.TimestampAuthorityURLsConfig(), sign.TimestampAuthorityAPIVersions, now)
	if err != nil && len(sc.TimestampAuthorityURLs()) > 0 {
		return opts, nil, fmt.Errorf("the signing config's timestamp authorities: %w", err)
	}
	for _, t := range tsas {
		opts.TimestampAuthorities = append(opts.TimestampAuthorities, sign.NewTimestampAuthority(&sign.TimestampAuthorityOptions{URL: t.URL, Timeout: tsaTimeout, Retries: 1, Transport: watch.add("the timestamp authority", t.URL)}))
	}
	return opts, watch, nil
}

// watcher is the transport of one service's client: it remembers the last
// error status the service answered, which sigstore-go's clients lose
// when they give up retrying ("read on closed response body").
type watcher struct {
	name, url string
	mu        sync.Mutex
	status    string
}

func (w *watcher) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil && resp.StatusCode >= 400 {
		w.mu.Lock()
		w.status = resp.Status
		w.mu.Unlock()
	}
	return resp, err
}

type watchers []*watcher

func (ws *watchers) add(name, url string) http.RoundTripper {
	w := &watcher{name: name, url: url}
	*ws = append(*ws, w)
	return w
}

// explain names the service that answered an error status, if one did.
func (ws watchers) explain(err error) error {
	for _, w := range ws {
		w.mu.Lock()
		status := w.status
		w.mu.Unlock()
		if status != "" {
			return fmt.Errorf("%s at %s answered %s: %w", w.name, w.url, status, err)
		}
	}
	return err
}

// marshalBundle writes a bundle as compact JSON: protojson varies its
// spacing from build to build.
func marshalBundle(b *protobundle.Bundle) ([]byte, error) {
	data, err := protojson.Marshal(b)
	if err != nil {
		return nil, fmt.Errorf("writing Sigstore bundle: %w", err)
	}
	out, err := compactJSON(data)
	if err != nil {
		return nil, fmt.Errorf("writing Sigstore bundle: %w", err)
	}
	return append(out, '\n'), nil
}

// scrubbed is err with every occurrence of secret replaced: a service's
// answer could quote the token it was sent.
func scrubbed(err error, secret string) error {
	if err == nil || secret == "" || !strings.Contains(err.Error(), secret) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), secret, "[identity token]"))
}

// KeylessConfig says where keyless signing finds its identity token and
// which Sigstore instance it uses: SigningConfig and TrustedRoot are
// files in Sigstore's JSON formats, both or neither (the public-good
// instance, fetched through TUF).
type KeylessConfig struct {
	// TokenFile is --identity-token's file, tried after the environment.
	TokenFile                  string
	SigningConfig, TrustedRoot string
	// LookupEnv reads the environment the token is found in.
	LookupEnv func(string) (string, bool)
}

// Signer loads the instance's files and checks that an identity token is
// at hand now (a build must not run only to find that it cannot be
// signed); the token is fetched again for each signature.
func (c KeylessConfig) Signer(ctx context.Context) (*KeylessSigner, error) {
	if (c.SigningConfig == "") != (c.TrustedRoot == "") {
		return nil, errors.New("keyless signing: give the signing config and the trusted root together (the instance to sign with and its trust root), or neither for the public-good instance")
	}
	var sc *root.SigningConfig
	var tr root.TrustedMaterial
	var err error
	if c.SigningConfig != "" {
		if sc, err = LoadSigningConfig(c.SigningConfig); err != nil {
			return nil, err
		}
		if tr, err = LoadTrustedRoot(c.TrustedRoot); err != nil {
			return nil, err
		}
	} else {
		if sc, err = PublicGoodSigningConfig(); err != nil {
			return nil, err
		}
		if tr, err = PublicGoodRoot(); err != nil {
			return nil, err
		}
	}
	k, err := NewKeylessSigner(TokenSource{LookupEnv: c.LookupEnv, File: c.TokenFile}, sc, tr)
	if err != nil {
		return nil, err
	}
	if _, _, err := k.token.Token(ctx); err != nil {
		return nil, fmt.Errorf("keyless signing: %w", err)
	}
	return k, nil
}

// TokenVars are the environment variables that carry an identity token
// or the means to get one: a build must never be given them.
var TokenVars = []string{TokenEnv, ActionsRequestURLEnv, ActionsRequestTokenEnv}
