package signing

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/secure-systems-lab/go-securesystemslib/dsse"
)

// PayloadType is the DSSE payload type of an in-toto statement.
const PayloadType = "application/vnd.in-toto+json"

// MaxSignatures is the most signatures one envelope may carry.
const MaxSignatures = 32

// Envelope is a DSSE envelope with its payload decoded. Its JSON form is
// the DSSE one: {"payloadType", "payload" (base64), "signatures": [{"keyid",
// "sig" (base64)}]}.
type Envelope struct {
	PayloadType string
	Payload     []byte
	Signatures  []Signature
}

// Signature is one DSSE signature. KeyID is a hint; it may be empty.
type Signature struct {
	KeyID string
	Sig   []byte
}

// Signed reports whether the envelope carries any signature.
func (e *Envelope) Signed() bool { return len(e.Signatures) > 0 }

type wireEnvelope struct {
	PayloadType string          `json:"payloadType"`
	Payload     string          `json:"payload"`
	Signatures  []wireSignature `json:"signatures"`
}

type wireSignature struct {
	KeyID string `json:"keyid"`
	Sig   string `json:"sig"`
}

// MarshalJSON encodes the envelope compactly on one line, base64 in the
// standard alphabet with padding.
func (e Envelope) MarshalJSON() ([]byte, error) {
	w := wireEnvelope{
		PayloadType: e.PayloadType,
		Payload:     base64.StdEncoding.EncodeToString(e.Payload),
		Signatures:  make([]wireSignature, len(e.Signatures)),
	}
	for i, s := range e.Signatures {
		w.Signatures[i] = wireSignature{KeyID: s.KeyID, Sig: base64.StdEncoding.EncodeToString(s.Sig)}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(w); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// UnmarshalJSON decodes an envelope strictly: unknown fields are refused,
// base64 may be standard or URL-safe, padded or not.
func (e *Envelope) UnmarshalJSON(data []byte) error {
	var w wireEnvelope
	if err := UnmarshalStrict(data, &w); err != nil {
		return err
	}
	if w.PayloadType == "" {
		return errors.New("envelope has no payloadType")
	}
	if len(w.Signatures) > MaxSignatures {
		return fmt.Errorf("envelope has %d signatures, at most %d are accepted", len(w.Signatures), MaxSignatures)
	}
	payload, err := decodeBase64(w.Payload)
	if err != nil {
		return fmt.Errorf("envelope payload: %w", err)
	}
	out := Envelope{PayloadType: w.PayloadType, Payload: payload}
	for i, s := range w.Signatures {
		sig, err := decodeBase64(s.Sig)
		if err != nil {
			return fmt.Errorf("envelope signature %d: %w", i+1, err)
		}
		if len(sig) == 0 {
			return fmt.Errorf("envelope signature %d is empty", i+1)
		}
		out.Signatures = append(out.Signatures, Signature{KeyID: s.KeyID, Sig: sig})
	}
	*e = out
	return nil
}

// decodeBase64 accepts the encodings DSSE allows: standard or URL-safe
// alphabet, with or without padding.
func decodeBase64(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err := enc.Strict().DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("not base64")
}

// ParseEnvelope decodes one DSSE envelope (strict JSON).
func ParseEnvelope(data []byte) (*Envelope, error) {
	var e Envelope
	if err := e.UnmarshalJSON(data); err != nil {
		return nil, fmt.Errorf("parsing DSSE envelope: %w", err)
	}
	return &e, nil
}

// PAE is the DSSE pre-authentication encoding: what is signed.
func PAE(payloadType string, payload []byte) []byte { return dsse.PAE(payloadType, payload) }

// SignStatement signs an in-toto statement (JSON) with every signer and
// returns the envelope as one compact JSON line without a newline: a
// .intoto.jsonl bundle is such lines, each ending in "\n" (see Bundle).
func SignStatement(ctx context.Context, statementJSON []byte, signers ...Signer) ([]byte, error) {
	env, err := Sign(ctx, PayloadType, statementJSON, signers...)
	if err != nil {
		return nil, err
	}
	return env.MarshalJSON()
}

// Sign signs a payload of any type with every signer.
func Sign(ctx context.Context, payloadType string, payload []byte, signers ...Signer) (*Envelope, error) {
	if len(signers) == 0 {
		return nil, errors.New("signing: no key given")
	}
	if payloadType == PayloadType && !json.Valid(payload) {
		return nil, errors.New("signing: the statement is not valid JSON")
	}
	pae := PAE(payloadType, payload)
	env := &Envelope{PayloadType: payloadType, Payload: append([]byte(nil), payload...)}
	for _, s := range signers {
		if s == nil {
			return nil, errors.New("signing: nil signer")
		}
		sig, err := s.Sign(ctx, pae)
		if err != nil {
			return nil, err
		}
		env.Signatures = append(env.Signatures, Signature{KeyID: s.KeyID(), Sig: sig})
	}
	return env, nil
}

// Bundle joins envelope lines (as SignStatement returns them) into the
// .intoto.jsonl format: each line compact, each ending in "\n".
func Bundle(envelopes ...[]byte) ([]byte, error) {
	var buf bytes.Buffer
	for i, e := range envelopes {
		var line bytes.Buffer
		if err := json.Compact(&line, e); err != nil {
			return nil, fmt.Errorf("bundling envelope %d: %w", i+1, err)
		}
		buf.Write(line.Bytes())
		buf.WriteByte('\n')
	}
	return buf.Bytes(), nil
}

// VerifyEnvelope checks an in-toto envelope: its payload type, and that
// signatures over the pre-authentication encoding verify with at least
// threshold distinct keys among verifiers. Every signature is tried with
// every key whatever its keyid hint says. It returns the payload and the
// ids of the keys that verified (in the order of verifiers); on a failed
// threshold the ids found so far are returned with the error.
func VerifyEnvelope(env *Envelope, threshold int, verifiers ...Verifier) (payload []byte, acceptedKeyIDs []string, err error) {
	if env == nil {
		return nil, nil, errors.New("verifying envelope: no envelope")
	}
	if env.PayloadType != PayloadType {
		return nil, nil, fmt.Errorf("verifying envelope: payloadType is %q, want %q", env.PayloadType, PayloadType)
	}
	keys := distinct(verifiers)
	switch {
	case len(keys) == 0:
		return nil, nil, errors.New("verifying envelope: no key given")
	case threshold < 1:
		return nil, nil, fmt.Errorf("verifying envelope: threshold %d is less than 1", threshold)
	case threshold > len(keys):
		return nil, nil, fmt.Errorf("verifying envelope: threshold %d is more than the %d distinct keys given", threshold, len(keys))
	case !env.Signed():
		return nil, nil, ErrUnsigned
	case len(env.Signatures) > MaxSignatures:
		return nil, nil, fmt.Errorf("verifying envelope: %d signatures, at most %d are accepted", len(env.Signatures), MaxSignatures)
	}
	pae := PAE(env.PayloadType, env.Payload)
	ctx := context.Background()
	for _, k := range keys {
		for _, s := range env.Signatures {
			if k.Verify(ctx, pae, s.Sig) == nil {
				acceptedKeyIDs = append(acceptedKeyIDs, k.KeyID())
				break
			}
		}
	}
	if len(acceptedKeyIDs) < threshold {
		if len(acceptedKeyIDs) == 0 {
			return nil, nil, fmt.Errorf("%w: no signature (of %s) verifies with the %s given", ErrNotVerified, count(len(env.Signatures), "signature"), count(len(keys), "key"))
		}
		return nil, acceptedKeyIDs, fmt.Errorf("%w: %d of the %s given verified, threshold is %d", ErrNotVerified, len(acceptedKeyIDs), count(len(keys), "key"), threshold)
	}
	return env.Payload, acceptedKeyIDs, nil
}

// Errors of VerifyEnvelope that callers tell apart.
var (
	// ErrUnsigned: the envelope (or plain statement) carries no signature.
	ErrUnsigned = errors.New("the attestation is not signed")
	// ErrNotVerified: signatures are present but too few verify.
	ErrNotVerified = errors.New("signature not verified")
)

func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// distinct drops nil verifiers and repeats of the same key, so that one key
// given twice counts once towards a threshold.
func distinct(vs []Verifier) []Verifier {
	seen := map[string]bool{}
	var out []Verifier
	for _, v := range vs {
		if v == nil || seen[v.KeyID()] {
			continue
		}
		seen[v.KeyID()] = true
		out = append(out, v)
	}
	return out
}
