package graph

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/mmbuild/mmbuild/core/evidence/attestation"
	"github.com/mmbuild/mmbuild/core/evidence/provenance"
	"github.com/mmbuild/mmbuild/core/evidence/sbom"
	"github.com/mmbuild/mmbuild/core/evidence/signing"
	"github.com/mmbuild/mmbuild/core/evidence/verify"
	"github.com/mmbuild/mmbuild/core/evidence/vsa"
)

// File is one attestation to draw: a statement, a DSSE envelope or an
// .intoto.jsonl bundle, and the name it is known by (its path).
type File struct {
	Name string
	Data []byte
}

// New builds the graph of files, checking each the way `mmbuild verify`
// does (package verify) with opts' keys, threshold and policy; the
// Artifacts, AllowUnsigned and expectation fields of opts are not used.
// Only an attestation that cannot be read at all is an error (naming the
// file); a statement that fails a check is a failed node.
func New(ctx context.Context, files []File, opts verify.Options) (*Graph, error) {
	opts = verify.Options{Keys: opts.Keys, Threshold: opts.Threshold, Policy: opts.Policy, Now: opts.Now}
	// Without keys the content is still checked; the node is unverified.
	opts.AllowUnsigned = len(opts.Keys) == 0 && (opts.Policy == nil || len(opts.Policy.Verifiers) == 0)
	open := attestation.Options{Verifiers: opts.Keys, Threshold: opts.Threshold, AllowUnsigned: true}
	if len(open.Verifiers) == 0 && opts.Policy != nil {
		open.Verifiers, open.Threshold = opts.Policy.Verifiers, opts.Policy.Threshold
	}
	b := &builder{g: &Graph{}, byKey: map[string]int{}, edges: map[Edge]bool{}}
	for _, f := range files {
		if err := b.file(ctx, f, open, opts); err != nil {
			return nil, fmt.Errorf("reading attestation %s: %w", f.Name, err)
		}
	}
	b.g.finish(b.keys)
	return b.g, nil
}

type builder struct {
	g     *Graph
	keys  []string       // keys[i] is the key of g.Nodes[i]
	byKey map[string]int // node key → index in g.Nodes
	edges map[Edge]bool
	stmts int // statements seen, for their node keys
}

// file adds every statement of one attestation.
func (b *builder) file(ctx context.Context, f File, open attestation.Options, opts verify.Options) error {
	a, err := attestation.Open(f.Data, open)
	if err != nil {
		return err
	}
	// The statement verify checks: the only one, or in a bundle the one
	// provenance or VSA statement (others are only signature-checked).
	checked, err := a.Pick(append([]string{vsa.PredicateType}, provenance.PredicateTypes...)...)
	if len(a.Statements) == 1 {
		checked, err = &a.Statements[0], nil
	}
	var report *verify.Report
	if err == nil {
		if report, err = verify.Attestation(ctx, f.Data, opts); err != nil {
			return err
		}
	}
	for i := range a.Statements {
		st := &a.Statements[i]
		status, reason := statementStatus(st, open)
		if st == checked {
			status, reason = reportStatus(report)
		}
		b.statement(f.Name, st, status, reason)
	}
	return nil
}

// reportStatus reads verify's report: a failed check fails the node, a
// signature not checked (no key) leaves it unverified.
func reportStatus(r *verify.Report) (Status, string) {
	if err := r.Err(); err != nil {
		return Failed, err.Error()
	}
	if c, _ := r.Check(verify.CheckSignature); c.Status != verify.Pass {
		return Unverified, "no key given: nothing proves who made it"
	}
	return Verified, ""
}

// statementStatus is the status of a statement verify does not check as a
// whole (an SBOM beside the provenance in a bundle): its signature.
func statementStatus(st *attestation.Statement, open attestation.Options) (Status, string) {
	switch {
	case st.Err != nil:
		return Failed, st.Err.Error()
	case st.Verified:
		return Verified, ""
	case len(open.Verifiers) > 0:
		return Failed, "signature not verified"
	}
	return Unverified, "no key given: nothing proves who made it"
}

// statement adds one statement's node and its edges.
func (b *builder) statement(file string, st *attestation.Statement, status Status, reason string) {
	b.stmts++
	key := fmt.Sprintf("statement:%d", b.stmts)
	where := clean(file)
	if st.Line > 0 {
		where += fmt.Sprintf(" (envelope %d)", st.Line)
	}
	if st.PayloadType != signing.PayloadType {
		b.add(key, Other, "unreadable statement", where).setStatus(Failed, errText(st.Err))
		return
	}
	switch {
	case slices.Contains(provenance.PredicateTypes, st.PredicateType):
		rec, err := provenance.Decode(st.Payload)
		if err != nil {
			n := b.add(key, Build, "unreadable provenance", where)
			n.setStatus(Failed, err.Error())
			b.subjects(key, st.Subjects, nil)
			return
		}
		b.build(key, where, rec)
		b.status(key, status, reason)
	case slices.Contains(sbom.PredicateTypes, st.PredicateType):
		b.add(key, SBOM, "SBOM "+sbomFormat(st.PredicateType), where).setStatus(status, reason)
		b.describes(key, st.Subjects)
	case st.PredicateType == vsa.PredicateType:
		label := "VSA"
		n := b.add(key, VSA, label, where)
		if s, err := vsa.Decode(st.Payload); err == nil {
			n.Label = short(clean("VSA " + s.Result() + " by " + s.VerifierID))
		}
		n.setStatus(status, reason)
		b.describes(key, st.Subjects)
	default:
		n := b.add(key, Other, short(clean(st.PredicateType)), where)
		n.setStatus(status, reason)
		b.describes(key, st.Subjects)
	}
}

func errText(err error) string {
	if err == nil {
		return "not an in-toto statement"
	}
	return err.Error()
}

func sbomFormat(pt string) string {
	if pt == sbom.PredicateCycloneDX {
		return "CycloneDX"
	}
	return "SPDX"
}

// build adds a provenance statement: the build, its source, materials and
// subjects.
func (b *builder) build(key, where string, rec *provenance.Record) {
	n := b.add(key, Build, short(clean(orUnknown(rec.BuilderID))), where)
	if inv, err := rec.Invocation(); err == nil && inv.Handler != "" {
		n.Details = append([]string{"handler " + short(clean(inv.Handler))}, n.Details...)
	}
	if k := rec.Config.StagingKey; k != "" {
		n.Details = append(n.Details, "staging key "+short(clean(k)))
	}
	if rec.Source.URI != "" {
		skey := "source:" + rec.Source.URI
		b.add(skey, Source, short(clean(strings.TrimPrefix(rec.Source.URI, "git+"))), "")
		b.edge(skey, key, commitDigest(rec.Source.Digest))
	}
	for _, m := range rec.Materials {
		mkey := resourceKey(m.URI, m.Digest)
		b.add(mkey, Material, short(clean(m.URI)), "")
		b.edge(mkey, key, digestString(m.Digest))
	}
	var subs []attestation.Subject
	for _, s := range rec.Subjects {
		subs = append(subs, attestation.Subject{Name: s.URI, Digest: s.Digest})
	}
	b.subjects(key, subs, rec.Config.ImageNames())
}

// subjects adds what a build produced, images among them.
func (b *builder) subjects(from string, subs []attestation.Subject, images map[string]bool) {
	for _, s := range subs {
		kind := Artifact
		if images[s.Name] {
			kind = Image
		}
		skey := resourceKey(s.Name, s.Digest)
		b.add(skey, kind, short(clean(s.Name)), "")
		b.edge(from, skey, digestString(s.Digest))
	}
}

// describes joins an SBOM, a VSA or another statement to its subjects.
func (b *builder) describes(to string, subs []attestation.Subject) {
	for _, s := range subs {
		skey := resourceKey(s.Name, s.Digest)
		b.add(skey, Artifact, short(clean(s.Name)), "")
		b.edge(skey, to, digestString(s.Digest))
	}
}

// digestAlgs are the algorithms a resource is keyed by, strongest first.
var digestAlgs = []string{"sha256", "sha512", "sha1", "gitCommit"}

// resourceKey identifies a resource by its strongest digest, so that a
// subject of one statement and the material of another with that digest
// are one node; without a digest, by its name.
func resourceKey(name string, d map[string]string) string {
	if s := digestString(d); s != "" {
		return "digest:" + s
	}
	return "name:" + name
}

// digestString is the strongest digest of d as "alg:hex", "" for none.
func digestString(d map[string]string) string {
	for _, alg := range digestAlgs {
		if v := d[alg]; v != "" {
			return clean(alg + ":" + v)
		}
	}
	return ""
}

func commitDigest(d map[string]string) string {
	for _, alg := range []string{"sha1", "gitCommit"} {
		if v := d[alg]; v != "" {
			return clean(alg + ":" + v)
		}
	}
	return digestString(d)
}

func orUnknown(s string) string {
	if s == "" {
		return "(no builder id)"
	}
	return s
}

// rank orders kinds when one resource is seen as several: what a build
// produced (image, artifact) wins over what it was only given.
var rank = map[Kind]int{Material: 0, Artifact: 1, Image: 2}

// add returns the node of key, creating it (file is the statement's). A resource seen again under
// another name keeps the produced name as its label and lists the others.
func (b *builder) add(key string, kind Kind, label, file string) *Node {
	if i, ok := b.byKey[key]; ok {
		n := &b.g.Nodes[i]
		if _, resource := rank[kind]; resource && rank[kind] > rank[n.Kind] {
			n.Kind = kind
			if label != n.Label {
				n.Aliases = appendNew(n.Aliases, n.Label)
				n.Label = label
			}
		} else if label != n.Label {
			n.Aliases = appendNew(n.Aliases, label)
		}
		return n
	}
	n := Node{ID: key, Kind: kind, Label: label, File: file}
	b.byKey[key] = len(b.g.Nodes)
	b.keys = append(b.keys, key)
	b.g.Nodes = append(b.g.Nodes, n)
	return &b.g.Nodes[len(b.g.Nodes)-1]
}

func appendNew(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

func (n *Node) setStatus(s Status, reason string) {
	n.Status, n.Reason = s, clean(reason)
}

// status sets the status of the node of key (a *Node from add is only
// good until the next add).
func (b *builder) status(key string, s Status, reason string) {
	b.g.Nodes[b.byKey[key]].setStatus(s, reason)
}

func (b *builder) edge(from, to, digest string) {
	e := Edge{From: from, To: to, Digest: digest}
	if !b.edges[e] {
		b.edges[e] = true
		b.g.Edges = append(b.g.Edges, e)
	}
}
