package signing

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	"google.golang.org/protobuf/encoding/protojson"
)

// SigstoreMediaType is the media type of the Sigstore bundles mmbuild
// writes: v0.3, cosign 3's default format (.sigstore.json).
const SigstoreMediaType = "application/vnd.dev.sigstore.bundle.v0.3+json"

// sigstoreMediaPrefix starts every Sigstore bundle media type (v0.1 to
// v0.3 are read).
const sigstoreMediaPrefix = "application/vnd.dev.sigstore.bundle"

// SigstoreBundle wraps a signed DSSE envelope as a Sigstore bundle v0.3
// for key-based signing: the verification material is the hint of the
// public key (its key id), no certificate and no transparency-log entry
// (the key is the trust root, verified offline). A Sigstore bundle carries
// exactly one signature: the first of the envelope's (the .intoto.jsonl
// keeps them all).
func SigstoreBundle(env *Envelope) ([]byte, error) {
	if len(env.Signatures) == 0 {
		return nil, errors.New("writing Sigstore bundle: the envelope is not signed")
	}
	sig := env.Signatures[0]
	b := &protobundle.Bundle{
		MediaType: SigstoreMediaType,
		VerificationMaterial: &protobundle.VerificationMaterial{
			Content: &protobundle.VerificationMaterial_PublicKey{PublicKey: &protocommon.PublicKeyIdentifier{Hint: sig.KeyID}},
		},
		Content: &protobundle.Bundle_DsseEnvelope{DsseEnvelope: &protodsse.Envelope{
			Payload:     env.Payload,
			PayloadType: env.PayloadType,
			// No keyid in the signature: cosign 3 skips a signature whose
			// keyid is not the one it computes for the key it is given
			// (none, for a key file). The hint says which key it is.
			Signatures: []*protodsse.Signature{{Sig: sig.Sig}},
		}},
	}
	return marshalBundle(b)
}

// SignForms signs an in-toto statement with every signer and returns it in
// both signed forms mmbuild publishes: the DSSE envelope as one compact
// .intoto.jsonl line (all signatures), and its Sigstore bundle v0.3 (see
// SigstoreBundle). A Bundler (keyless signing) signs alone and makes the
// bundle itself.
func SignForms(ctx context.Context, statement []byte, signers ...Signer) (line, sigstore []byte, err error) {
	for _, s := range signers {
		b, ok := s.(Bundler)
		if !ok {
			continue
		}
		if len(signers) > 1 {
			return nil, nil, errors.New("signing: keyless signing signs alone (a Sigstore bundle holds one signature): drop the other keys")
		}
		env, bundle, err := b.SignBundle(ctx, PayloadType, statement)
		if err != nil {
			return nil, nil, err
		}
		if line, err = env.MarshalJSON(); err != nil {
			return nil, nil, err
		}
		return line, bundle, nil
	}
	env, err := Sign(ctx, PayloadType, statement, signers...)
	if err != nil {
		return nil, nil, err
	}
	if line, err = env.MarshalJSON(); err != nil {
		return nil, nil, err
	}
	if sigstore, err = SigstoreBundle(env); err != nil {
		return nil, nil, err
	}
	return line, sigstore, nil
}

// isSigstore reports whether a JSON object's keys are a Sigstore bundle's.
func isSigstore(probe map[string]rawJSON) bool {
	_, ok := probe["mediaType"]
	return ok
}

// readSigstore reads a Sigstore bundle holding a DSSE envelope (what
// cosign 3 writes for an attestation) and returns the envelope and the
// bundle's media type. The bundle is decoded by the protobuf-specs types,
// strictly: unknown fields are refused. Transparency-log entries and
// certificates are not checked here: mmbuild verifies the envelope's
// signature with the keys it is given.
func readSigstore(data []byte) (*Envelope, string, error) {
	var b protobundle.Bundle
	if err := protojson.Unmarshal(data, &b); err != nil {
		return nil, "", fmt.Errorf("parsing Sigstore bundle: %w", err)
	}
	mt := b.GetMediaType()
	if !strings.HasPrefix(mt, sigstoreMediaPrefix) {
		return nil, "", fmt.Errorf("parsing Sigstore bundle: mediaType %q is not a Sigstore bundle's", mt)
	}
	d := b.GetDsseEnvelope()
	if d == nil {
		return nil, "", errors.New("parsing Sigstore bundle: it holds a message signature, not a DSSE envelope (an attestation)")
	}
	if d.GetPayloadType() == "" {
		return nil, "", errors.New("parsing Sigstore bundle: the envelope has no payloadType")
	}
	if len(d.GetSignatures()) > MaxSignatures {
		return nil, "", fmt.Errorf("parsing Sigstore bundle: %d signatures, at most %d are accepted", len(d.GetSignatures()), MaxSignatures)
	}
	env := &Envelope{PayloadType: d.GetPayloadType(), Payload: d.GetPayload()}
	hint := b.GetVerificationMaterial().GetPublicKey().GetHint()
	for i, s := range d.GetSignatures() {
		if len(s.GetSig()) == 0 {
			return nil, "", fmt.Errorf("parsing Sigstore bundle: signature %d is empty", i+1)
		}
		id := s.GetKeyid()
		if id == "" && len(d.GetSignatures()) == 1 {
			// Only a hint: verification tries every key given either way.
			id = hint
		}
		env.Signatures = append(env.Signatures, Signature{KeyID: id, Sig: s.GetSig()})
	}
	return env, mt, nil
}

func compactJSON(data []byte) ([]byte, error) {
	var buf bytes.Buffer
	if err := json.Compact(&buf, data); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
