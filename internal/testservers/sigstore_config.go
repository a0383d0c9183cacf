package testservers

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// The JSON forms of Sigstore's TrustedRoot and SigningConfig v0.2
// (protobuf-specs, in their proto3 JSON mapping: bytes as base64), only the
// fields the stack fills.

type trustedRoot struct {
	MediaType              string                 `json:"mediaType"`
	Tlogs                  []transparencyLog      `json:"tlogs"`
	CertificateAuthorities []certificateAuthority `json:"certificateAuthorities"`
	Ctlogs                 []transparencyLog      `json:"ctlogs"`
	TimestampAuthorities   []certificateAuthority `json:"timestampAuthorities"`
}

type transparencyLog struct {
	BaseURL       string    `json:"baseUrl"`
	HashAlgorithm string    `json:"hashAlgorithm"`
	PublicKey     publicKey `json:"publicKey"`
	LogID         logID     `json:"logId"`
}

type publicKey struct {
	RawBytes   []byte   `json:"rawBytes"`
	KeyDetails string   `json:"keyDetails"`
	ValidFor   validFor `json:"validFor"`
}

type logID struct {
	KeyID []byte `json:"keyId"`
}

type validFor struct {
	Start string `json:"start"` // RFC 3339
}

type certificateAuthority struct {
	Subject   distinguishedName `json:"subject"`
	URI       string            `json:"uri"`
	CertChain certChain         `json:"certChain"`
	ValidFor  validFor          `json:"validFor"`
}

type distinguishedName struct {
	Organization string `json:"organization,omitempty"`
	CommonName   string `json:"commonName,omitempty"`
}

type certChain struct {
	Certificates []rawCert `json:"certificates"`
}

type rawCert struct {
	RawBytes []byte `json:"rawBytes"`
}

type signingConfig struct {
	MediaType       string        `json:"mediaType"`
	CAURLs          []service     `json:"caUrls"`
	OIDCURLs        []service     `json:"oidcUrls"`
	RekorTlogURLs   []service     `json:"rekorTlogUrls"`
	TSAURLs         []service     `json:"tsaUrls"`
	RekorTlogConfig serviceConfig `json:"rekorTlogConfig"`
	TSAConfig       serviceConfig `json:"tsaConfig"`
}

type service struct {
	URL             string   `json:"url"`
	MajorAPIVersion int      `json:"majorApiVersion"`
	ValidFor        validFor `json:"validFor"`
	Operator        string   `json:"operator"`
}

type serviceConfig struct {
	Selector string `json:"selector"`
}

// writeConfigs writes the trusted root and the signing configuration.
func (s *Sigstore) writeConfigs(dir string) error {
	// Valid from an hour ago: the CA and TSA certificates are minutes old.
	valid := validFor{Start: time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)}
	fulcioChain, fulcioRoot, err := parseChain(s.FulcioChain)
	if err != nil {
		return fmt.Errorf("fulcio's chain: %w", err)
	}
	tsaChain, tsaRoot, err := parseChain(s.TSAChain)
	if err != nil {
		return fmt.Errorf("the timestamp authority's chain: %w", err)
	}
	rekorKey, _ := pem.Decode(s.RekorPublicKey)
	root := trustedRoot{
		MediaType: "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
		Tlogs: []transparencyLog{{
			BaseURL:       s.Rekor.URL,
			HashAlgorithm: "SHA2_256",
			PublicKey:     publicKey{RawBytes: rekorKey.Bytes, KeyDetails: "PKIX_ECDSA_P256_SHA_256", ValidFor: valid},
			LogID:         logID{KeyID: s.RekorLogID},
		}},
		CertificateAuthorities: []certificateAuthority{{
			Subject: subjectOf(fulcioRoot), URI: s.Fulcio.URL, CertChain: fulcioChain, ValidFor: valid,
		}},
		Ctlogs: []transparencyLog{},
		TimestampAuthorities: []certificateAuthority{{
			Subject: subjectOf(tsaRoot), URI: s.TSA.URL, CertChain: tsaChain, ValidFor: valid,
		}},
	}
	if s.ct != nil {
		root.Ctlogs = []transparencyLog{{
			BaseURL:       s.CTLog.URL,
			HashAlgorithm: "SHA2_256",
			PublicKey:     publicKey{RawBytes: s.ct.pubDER, KeyDetails: "PKIX_ECDSA_P256_SHA_256", ValidFor: valid},
			LogID:         logID{KeyID: s.ct.logID()},
		}}
	}
	svc := func(url string, major int) []service {
		return []service{{URL: url, MajorAPIVersion: major, ValidFor: valid, Operator: stackOperator}}
	}
	config := signingConfig{
		MediaType:       "application/vnd.dev.sigstore.signingconfig.v0.2+json",
		CAURLs:          svc(s.Fulcio.URL, 1),
		OIDCURLs:        svc(s.OIDC.URL, 1),
		RekorTlogURLs:   svc(s.Rekor.URL, 2),
		TSAURLs:         svc(s.TSAURL, 1),
		RekorTlogConfig: serviceConfig{Selector: "ANY"},
		TSAConfig:       serviceConfig{Selector: "ANY"},
	}
	s.TrustedRoot = filepath.Join(dir, "trusted_root.json")
	s.SigningConfig = filepath.Join(dir, "signing_config.json")
	for path, v := range map[string]any{s.TrustedRoot: root, s.SigningConfig: config} {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// parseChain is a PEM chain as a TrustedRoot certChain, and its root (the
// last certificate).
func parseChain(chain []byte) (certChain, *x509.Certificate, error) {
	var c certChain
	var root *x509.Certificate
	for rest := chain; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		cert, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return c, nil, err
		}
		c.Certificates = append(c.Certificates, rawCert{RawBytes: b.Bytes})
		root = cert
	}
	if root == nil {
		return c, nil, errors.New("no certificate")
	}
	return c, root, nil
}

// subjectOf is a certificate's subject as a TrustedRoot DistinguishedName.
func subjectOf(c *x509.Certificate) distinguishedName {
	var d distinguishedName
	if len(c.Subject.Organization) > 0 {
		d.Organization = c.Subject.Organization[0]
	}
	d.CommonName = c.Subject.CommonName
	return d
}
