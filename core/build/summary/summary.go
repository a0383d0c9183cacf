package summary

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sort"
	"strings"

	"github.com/mmbuild/mmbuild/core/evidence/attestation"
	"github.com/mmbuild/mmbuild/core/evidence/graph"
	"github.com/mmbuild/mmbuild/core/evidence/provenance"
	"github.com/mmbuild/mmbuild/core/evidence/signing"
	"github.com/mmbuild/mmbuild/core/evidence/verify"
)

// Summary is what a build made, as its outputs record it.
type Summary struct {
	StagingURL  string
	StagingPath string
	// Artifacts are the statement's subjects, each with the URL the dotenv
	// file gives it ("" when none).
	Artifacts []Entry
	// Materials are the statement's materials (the source commit, inputs,
	// plugin binaries).
	Materials   []Entry
	BuilderID   string
	Attestation string // the local statement's path
	// Bundle is the signed bundle's path, "" when the build wrote none;
	// Signatures how many signatures its provenance envelope carries, and
	// KeyIDs the key ids they name.
	Bundle     string
	Signatures int
	KeyIDs     []string
	// Verify is the check of the bundle against the keys given to Read:
	// "" when no key was given, else "ok" or why it failed.
	Verify string
	// Graph is the build's supply chain (mmbuild graph of the bundle, else
	// of the statement), nil without a statement.
	Graph *graph.Graph
}

// Entry is a name (or URI) with its digest.
type Entry struct {
	Name   string
	Digest string // "sha256:hex", or the first algorithm recorded
	URL    string
}

// Read reads the summary of a build: its statement, its signed bundle
// (bundle "" or missing: unsigned), and its dotenv outputs. With verifiers,
// the bundle's provenance must verify under them. Without a statement
// (statement ""), the summary is what the outputs say: the staging URL and
// the artifacts' URLs, without digests.
func Read(statement, bundle string, outputs map[string]string, verifiers []signing.Verifier) (*Summary, error) {
	if statement == "" {
		return fromOutputs(outputs, verifiers), nil
	}
	data, err := attestation.ReadFile(statement)
	if err != nil {
		return nil, err
	}
	rec, err := provenance.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", statement, err)
	}
	s := &Summary{
		StagingURL:  outputs["MMBUILD_STAGING_URL"],
		StagingPath: outputs["MMBUILD_STAGING_PATH"],
		BuilderID:   rec.BuilderID,
		Attestation: statement,
	}
	urls := map[string]string{}
	for k, v := range outputs {
		if strings.HasPrefix(k, "MMBUILD_ARTIFACT_") {
			urls[v[strings.LastIndex(v, "/")+1:]] = v
		}
	}
	for _, r := range rec.Subjects {
		s.Artifacts = append(s.Artifacts, Entry{Name: r.URI, Digest: digestOf(r.Digest), URL: urls[r.URI]})
	}
	for _, r := range rec.Materials {
		s.Materials = append(s.Materials, Entry{Name: r.URI, Digest: digestOf(r.Digest)})
	}
	if bundle != "" {
		if err := s.readBundle(bundle, verifiers); err != nil {
			return nil, err
		}
	} else if len(verifiers) > 0 {
		s.Verify = "failed: the build wrote no signed bundle"
	}
	if err := s.readGraph(data, verifiers); err != nil {
		return nil, err
	}
	return s, nil
}

// readGraph draws the build's graph from its signed bundle when it wrote
// one (the statements a verifier sees, with SBOMs), else from the
// statement, checked with verifiers as mmbuild graph checks it. Local
// files only: nothing here waits, so no context is threaded through.
func (s *Summary) readGraph(statement []byte, verifiers []signing.Verifier) error {
	name, data := s.Attestation, statement
	if s.Bundle != "" {
		b, err := attestation.ReadFile(s.Bundle)
		if err != nil {
			return err
		}
		name, data = s.Bundle, b
	}
	g, err := graph.New(context.Background(), []graph.File{{Name: name, Data: data}}, verify.Options{Keys: verifiers})
	if err != nil {
		return err
	}
	s.Graph = g
	return nil
}

func fromOutputs(outputs map[string]string, verifiers []signing.Verifier) *Summary {
	s := &Summary{StagingURL: outputs["MMBUILD_STAGING_URL"], StagingPath: outputs["MMBUILD_STAGING_PATH"]}
	names := make([]string, 0, len(outputs))
	for k := range outputs {
		if strings.HasPrefix(k, "MMBUILD_ARTIFACT_") {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	for _, k := range names {
		v := outputs[k]
		s.Artifacts = append(s.Artifacts, Entry{Name: v[strings.LastIndex(v, "/")+1:], URL: v})
	}
	if len(verifiers) > 0 {
		s.Verify = "failed: no local attestation to verify"
	}
	return s
}

// readBundle records the provenance envelope's signatures and, with
// verifiers, whether they verify it.
func (s *Summary) readBundle(path string, verifiers []signing.Verifier) error {
	data, err := attestation.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if len(verifiers) > 0 {
			s.Verify = "failed: the build wrote no signed bundle"
		}
		return nil
	}
	if err != nil {
		return err
	}
	envs, _, err := signing.ReadForm(data)
	if err != nil || len(envs) == 0 {
		return fmt.Errorf("reading %s: not a bundle of envelopes", path)
	}
	s.Bundle = path
	s.Signatures = len(envs[0].Signatures)
	for _, sig := range envs[0].Signatures {
		if sig.KeyID != "" {
			s.KeyIDs = append(s.KeyIDs, sig.KeyID)
		}
	}
	if len(verifiers) == 0 {
		return nil
	}
	a, err := attestation.Open(data, attestation.Options{Verifiers: verifiers})
	switch {
	case err != nil:
		s.Verify = "failed: " + err.Error()
	case a.Statements[0].Err != nil:
		s.Verify = "failed: " + a.Statements[0].Err.Error()
	default:
		s.Verify = "ok"
	}
	return nil
}

func digestOf(d provenance.Digest) string {
	if v, ok := d["sha256"]; ok {
		return "sha256:" + v
	}
	algs := make([]string, 0, len(d))
	for a := range d {
		algs = append(algs, a)
	}
	sort.Strings(algs)
	if len(algs) == 0 {
		return ""
	}
	return algs[0] + ":" + d[algs[0]]
}

// WriteMarkdown writes the summary as Markdown: a heading, the staging
// URL, the signature and its check, and tables of the artifacts and the
// materials with their digests.
func (s *Summary) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	b.WriteString("### mmbuild\n\n")
	b.WriteString("| | |\n| --- | --- |\n")
	row(&b, "staging URL", code(s.StagingURL))
	row(&b, "staging path", code(s.StagingPath))
	row(&b, "builder", code(s.BuilderID))
	row(&b, "attestation", code(s.Attestation))
	sig := "not signed"
	if s.Signatures > 0 {
		sig = fmt.Sprintf("signed (%d signature(s)) in %s", s.Signatures, code(s.Bundle))
		if len(s.KeyIDs) > 0 {
			sig += ", key id " + code(strings.Join(s.KeyIDs, ", "))
		}
	}
	row(&b, "signature", sig)
	if s.Verify != "" {
		row(&b, "verified with the given key", s.Verify)
	}
	b.WriteString("\n| artifact | digest | URL |\n| --- | --- | --- |\n")
	for _, a := range s.Artifacts {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", cell(a.Name), code(a.Digest), code(a.URL))
	}
	b.WriteString("\n| material | digest |\n| --- | --- |\n")
	for _, m := range s.Materials {
		fmt.Fprintf(&b, "| %s | %s |\n", cell(m.Name), code(m.Digest))
	}
	if s.Graph != nil {
		b.WriteString("\n#### Supply chain\n\n")
		if err := writeGraph(&b, s.Graph); err != nil {
			return err
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func row(b *strings.Builder, k, v string) { fmt.Fprintf(b, "| %s | %s |\n", k, v) }

// cell makes s safe inside a table cell: no line breaks, pipes escaped.
func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "\r", " ").Replace(s)
}

// code is s as inline code in a cell ("" stays empty).
func code(s string) string {
	if s == "" {
		return ""
	}
	return "`" + strings.ReplaceAll(cell(s), "`", "'") + "`"
}
