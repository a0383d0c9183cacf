package evidence

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/mmbuild/mmbuild/core/evidence/provenance"
	"github.com/mmbuild/mmbuild/core/evidence/sbom"
	"github.com/mmbuild/mmbuild/core/evidence/signing"
)

// File names of the evidence, beside each other locally and at a staging
// URL.
const (
	// StatementName is the provenance statement's, published last.
	StatementName = "provenance.json"
	// BundleName is the .intoto.jsonl bundle's: the provenance's DSSE
	// envelope, then the SBOM statements'.
	BundleName = "provenance.intoto.jsonl"
	// SigstoreName is the Sigstore bundle (v0.3) of the signed provenance
	// statement, as cosign 3 reads it (verify-blob-attestation --bundle).
	SigstoreName = "provenance.sigstore.json"
)

// File is one file of the evidence: its name and its bytes.
type File struct {
	Name string
	Data []byte
}

// Request is everything evidence is assembled from.
type Request struct {
	// Build is what the provenance statement records: subjects with their
	// digests, materials, source, invocation, per-run facts.
	Build provenance.Build
	// Format is the SLSA version written ("" is v0.2).
	Format provenance.Format
	// Signers sign the statements; none writes them unsigned.
	Signers []signing.Signer
	// SBOM asks for SBOMs of the subjects; nil for none.
	SBOM *SBOMRequest
	// Redact scrubs every byte written of the run's secret values; nil
	// writes them as they are.
	Redact func([]byte) []byte
}

// SBOMRequest asks for SBOMs: one document and statement per format.
type SBOMRequest struct {
	// Inputs describe the artifacts (as the core hashed them), the
	// source, the materials and the tools.
	Inputs sbom.Inputs
	// Formats are sbom.SPDX and sbom.CycloneDX; none is SPDX.
	Formats []string
	// Catalog says what is inside each artifact; nil for nothing.
	Catalog Cataloger
}

// Cataloger says what is inside one artifact: its packages and files, and
// the tool that looked ("syft 1.2.0", "" when unknown).
type Cataloger interface {
	Catalog(ctx context.Context, a sbom.Artifact) (*sbom.Contents, string, error)
}

// Evidence is what Assemble makes.
type Evidence struct {
	// Statement is the provenance as the one reader reads it back.
	Statement *provenance.Record
	// Data is the provenance statement as written, secrets redacted.
	Data []byte
	// Envelope is the signed statement's DSSE envelope (attached to
	// images); Sigstore its Sigstore bundle. Both nil unsigned.
	Envelope, Sigstore []byte
	// Bundle is the .intoto.jsonl: the provenance envelope, then the
	// SBOMs'. Nil when unsigned and without SBOMs.
	Bundle []byte
	// SBOMs are one per format asked for.
	SBOMs []SBOM
}

// SBOM is one SBOM: its format, the document, its statement and, when
// signed, the statement's Sigstore bundle.
type SBOM struct {
	Format              string
	Document, Statement []byte
	Sigstore            []byte
}

// Assemble writes the provenance statement of req.Build, reads it back
// through the reader every consumer uses, makes the SBOMs, and signs.
func Assemble(ctx context.Context, req Request) (*Evidence, error) {
	redact := req.Redact
	if redact == nil {
		redact = func(b []byte) []byte { return b }
	}
	data, err := provenance.Encode(req.Build, req.Format)
	if err != nil {
		return nil, err
	}
	ev := &Evidence{Data: redact(data)}
	// A statement the reader refused would be evidence nobody can check.
	if ev.Statement, err = provenance.Decode(ev.Data); err != nil {
		return nil, fmt.Errorf("reading back the attestation: %w", err)
	}
	var lines [][]byte
	if len(req.Signers) > 0 {
		if ev.Envelope, ev.Sigstore, err = signing.SignForms(ctx, ev.Data, req.Signers...); err != nil {
			return nil, fmt.Errorf("signing the attestation: %w", err)
		}
		lines = append(lines, ev.Envelope)
	}
	if req.SBOM != nil {
		if ev.SBOMs, err = makeSBOMs(ctx, *req.SBOM, redact); err != nil {
			return nil, err
		}
		if len(lines) == 0 {
			// Unsigned: the statement travels as an envelope without
			// signatures, so the bundle keeps one format.
			prov, err := json.Marshal(signing.Envelope{PayloadType: signing.PayloadType, Payload: ev.Data})
			if err != nil {
				return nil, err
			}
			lines = append(lines, prov)
		}
		for i, sb := range ev.SBOMs {
			var line []byte
			if len(req.Signers) == 0 {
				line, err = json.Marshal(signing.Envelope{PayloadType: signing.PayloadType, Payload: sb.Statement})
			} else {
				line, ev.SBOMs[i].Sigstore, err = signing.SignForms(ctx, sb.Statement, req.Signers...)
			}
			if err != nil {
				return nil, fmt.Errorf("signing the SBOM attestation: %w", err)
			}
			lines = append(lines, line)
		}
	}
	if len(lines) > 0 {
		if ev.Bundle, err = signing.Bundle(lines...); err != nil {
			return nil, err
		}
	}
	return ev, nil
}

// makeSBOMs catalogues each artifact and writes the documents of the
// formats asked for, with their statements.
func makeSBOMs(ctx context.Context, req SBOMRequest, redact func([]byte) []byte) ([]SBOM, error) {
	in := req.Inputs
	in.Artifacts = slices.Clone(in.Artifacts)
	in.Tools = slices.Clone(in.Tools)
	if req.Catalog != nil {
		for i, a := range in.Artifacts {
			contents, tool, err := req.Catalog.Catalog(ctx, a)
			if err != nil {
				return nil, err
			}
			in.Artifacts[i].Contents = contents
			if name, version, _ := strings.Cut(tool, " "); tool != "" && !slices.ContainsFunc(in.Tools, func(t sbom.Tool) bool { return t.Name == name }) {
				in.Tools = append(in.Tools, sbom.Tool{Name: name, Version: version})
			}
		}
	}
	formats := req.Formats
	if len(formats) == 0 {
		formats = []string{sbom.SPDX}
	}
	var out []SBOM
	for _, f := range formats {
		doc, err := sbom.Document(in, f)
		if err != nil {
			return nil, err
		}
		st, err := sbom.Statement(in, f, doc)
		if err != nil {
			return nil, fmt.Errorf("attesting the SBOM: %w", err)
		}
		out = append(out, SBOM{Format: f, Document: redact(doc), Statement: redact(st)})
	}
	return out, nil
}

// Files are the files of the evidence in publishing order, the statement
// last: a destination without it holds no complete build.
func (e *Evidence) Files() []File {
	var files []File
	for _, sb := range e.SBOMs {
		files = append(files, File{sbom.FileName(sb.Format), sb.Document}, File{SBOMSigstoreName(sb.Format), sb.Sigstore})
	}
	files = append(files, File{BundleName, e.Bundle}, File{SigstoreName, e.Sigstore}, File{StatementName, e.Data})
	var out []File
	for _, f := range files {
		if f.Data != nil {
			out = append(out, f)
		}
	}
	return out
}

// SBOMSigstoreName is the name of the Sigstore bundle of an SBOM of format.
func SBOMSigstoreName(format string) string {
	return strings.TrimSuffix(sbom.FileName(format), ".json") + ".sigstore.json"
}

// Names are every name evidence can take beside the artifacts: no
// artifact may be published under one of them.
func Names() []string {
	names := []string{StatementName, BundleName, SigstoreName}
	for _, f := range []string{sbom.SPDX, sbom.CycloneDX} {
		names = append(names, sbom.FileName(f), SBOMSigstoreName(f))
	}
	return names
}

// Sign is the evidence of a statement of its own (a replay's VSA): the
// statement as base+".json", and with signers its signed DSSE envelope
// (base+".intoto.jsonl") and Sigstore bundle (base+".sigstore.json").
func Sign(ctx context.Context, base string, statement []byte, signers ...signing.Signer) ([]File, error) {
	files := []File{{base + ".json", statement}}
	if len(signers) == 0 {
		return files, nil
	}
	line, sb, err := signing.SignForms(ctx, statement, signers...)
	if err != nil {
		return nil, fmt.Errorf("signing %s.json: %w", base, err)
	}
	bundle, err := signing.Bundle(line)
	if err != nil {
		return nil, err
	}
	return append(files, File{base + ".intoto.jsonl", bundle}, File{base + ".sigstore.json", sb}), nil
}
