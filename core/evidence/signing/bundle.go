package signing

import (
	"bytes"
	"errors"
	"fmt"
)

// Limits on an attestation read as untrusted input.
const (
	// MaxBundleSize is the largest attestation file read: 16 MiB.
	MaxBundleSize = 16 << 20
	// MaxEnvelopes is the most envelopes (lines) a bundle may hold.
	MaxEnvelopes = 256
)

// ReadBundle reads an attestation in any of the forms mmbuild accepts:
//
//   - a plain in-toto statement (JSON object with "_type"), returned as one
//     unsigned envelope of PayloadType holding the bytes as given;
//   - one DSSE envelope, compact or indented;
//   - a Sigstore bundle (v0.1 to v0.3, .sigstore.json) holding a DSSE
//     envelope, as cosign 3 and mmbuild write them;
//   - a .intoto.jsonl bundle: one compact envelope per line.
//
// The input is untrusted: it is size-limited, and JSON is decoded strictly
// (valid UTF-8, no duplicate keys, no unknown fields, nothing after the value).
func ReadBundle(data []byte) ([]Envelope, error) {
	envs, _, err := ReadForm(data)
	return envs, err
}

// ReadForm is ReadBundle that also returns the media type of the Sigstore
// bundle the envelope came in ("" for the other forms).
func ReadForm(data []byte) ([]Envelope, string, error) {
	if len(data) > MaxBundleSize {
		return nil, "", fmt.Errorf("reading attestation: larger than %d MiB", MaxBundleSize>>20)
	}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, "", errors.New("reading attestation: empty")
	}
	if trimmed[0] != '{' {
		return nil, "", errors.New("reading attestation: not a JSON object (want a statement, a DSSE envelope, a Sigstore bundle or a .intoto.jsonl bundle)")
	}
	// One JSON value, possibly spread over lines: a statement, an envelope
	// or a Sigstore bundle.
	if n, ok := oneValue(trimmed); ok && n == len(trimmed) {
		env, mediaType, err := readOne(trimmed, data)
		if err != nil {
			return nil, "", fmt.Errorf("reading attestation: %w", err)
		}
		return []Envelope{*env}, mediaType, nil
	}
	var out []Envelope
	for i, line := range bytes.Split(trimmed, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		if len(out) == MaxEnvelopes {
			return nil, "", fmt.Errorf("reading attestation: more than %d envelopes", MaxEnvelopes)
		}
		kind, err := classify(line)
		if err != nil {
			return nil, "", fmt.Errorf("reading attestation line %d: %w", i+1, err)
		}
		if kind != kindEnvelope {
			return nil, "", fmt.Errorf("reading attestation line %d: a .intoto.jsonl line must be a DSSE envelope", i+1)
		}
		env, err := ParseEnvelope(line)
		if err != nil {
			return nil, "", fmt.Errorf("reading attestation line %d: %w", i+1, err)
		}
		out = append(out, *env)
	}
	return out, "", nil
}

type kind int

const (
	kindStatement kind = iota + 1
	kindEnvelope
	kindSigstore
)

// readOne reads one JSON value; original is the input before trimming,
// kept as the payload of a plain statement.
func readOne(data, original []byte) (*Envelope, string, error) {
	k, err := classify(data)
	if err != nil {
		return nil, "", err
	}
	switch k {
	case kindStatement:
		if err := checkJSON(data); err != nil {
			return nil, "", fmt.Errorf("parsing statement: %w", err)
		}
		return &Envelope{PayloadType: PayloadType, Payload: append([]byte(nil), original...)}, "", nil
	case kindSigstore:
		if err := checkJSON(data); err != nil {
			return nil, "", fmt.Errorf("parsing Sigstore bundle: %w", err)
		}
		return readSigstore(data)
	}
	env, err := ParseEnvelope(data)
	return env, "", err
}

// classify tells a statement from an envelope by their required keys.
func classify(data []byte) (kind, error) {
	var probe map[string]rawJSON
	if err := UnmarshalStrict(data, &probe); err != nil {
		return 0, err
	}
	_, isEnv := probe["payloadType"]
	_, isStmt := probe["_type"]
	switch {
	case isSigstore(probe) && !isEnv && !isStmt:
		return kindSigstore, nil
	case isEnv && !isStmt:
		return kindEnvelope, nil
	case isStmt && !isEnv:
		return kindStatement, nil
	}
	return 0, errors.New("neither a DSSE envelope (payloadType), a Sigstore bundle (mediaType) nor an in-toto statement (_type)")
}

// rawJSON skips a value without decoding it.
type rawJSON struct{}

func (*rawJSON) UnmarshalJSON([]byte) error { return nil }
