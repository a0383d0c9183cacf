package verify

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/mmbuild/mmbuild/core/evidence/attestation"
	"github.com/mmbuild/mmbuild/core/evidence/digest"
	"github.com/mmbuild/mmbuild/core/evidence/provenance"
	"github.com/mmbuild/mmbuild/core/evidence/signing"
	"github.com/mmbuild/mmbuild/core/evidence/vsa"
)

// pickStatement chooses the statement to check: the only one, whatever its
// predicate type (checkStatement reports a wrong one), or in a bundle the
// one with a provenance predicate of either version (a bundle may also
// hold an SBOM statement).
func pickStatement(a *attestation.Attestation) (*attestation.Statement, string, error) {
	var st *attestation.Statement
	where := ""
	if len(a.Statements) == 1 {
		st = &a.Statements[0]
		if st.PayloadType != signing.PayloadType {
			return nil, "", st.Err
		}
	} else {
		var err error
		if st, err = a.Pick(append([]string{vsa.PredicateType}, provenance.PredicateTypes...)...); err != nil {
			return nil, "", err
		}
		where = fmt.Sprintf("line %d of %d: ", st.Line, len(a.Statements))
	}
	kind := "DSSE envelope"
	switch {
	case a.Sigstore != "":
		kind = "Sigstore bundle (" + a.Sigstore + ")"
	case st.Signatures == 0:
		kind = "unsigned statement"
	}
	return st, fmt.Sprintf("%s%s, payloadType %s, %d signature%s", where, kind, st.PayloadType, st.Signatures, plural(st.Signatures)), nil
}

// ParseStatement decodes a provenance statement of either version strictly
// (see provenance.Decode).
func ParseStatement(payload []byte) (*provenance.Record, error) {
	return provenance.Decode(payload)
}

// checkStatement adds statement-type and predicate-type. ok is false when
// the statement could not be parsed at all (later checks cannot run).
func checkStatement(payload []byte, add func(string, Status, string, ...any)) (*provenance.Record, bool) {
	var h struct {
		Type          string `json:"_type"`
		PredicateType string `json:"predicateType"`
	}
	if err := json.Unmarshal(payload, &h); err != nil {
		add(CheckStatementType, Fail, "the payload is not an in-toto statement: %v", err)
		return nil, false
	}
	typeOK := h.Type == provenance.StatementV01 || h.Type == provenance.StatementV1
	if !typeOK {
		add(CheckStatementType, Fail, "_type is %q, want %q or %q", h.Type, provenance.StatementV01, provenance.StatementV1)
	} else {
		add(CheckStatementType, Pass, "%s", h.Type)
	}
	if h.PredicateType != provenance.PredicateV02 && h.PredicateType != provenance.PredicateV1 {
		add(CheckPredicateType, Fail, "predicateType is %q, want %q or %q", h.PredicateType, provenance.PredicateV02, provenance.PredicateV1)
		return nil, false
	}
	if !typeOK {
		add(CheckPredicateType, Skipped, "not checked: the statement is not an in-toto statement (predicateType says %s)", h.PredicateType)
		return nil, false
	}
	rec, err := provenance.Decode(payload)
	if err != nil {
		add(CheckPredicateType, Fail, "%v", strings.TrimPrefix(err.Error(), "parsing statement: "))
		return nil, false
	}
	add(CheckPredicateType, Pass, "%s", h.PredicateType)
	return rec, true
}

// checkSubjects: every artifact is covered by a subject named like its
// base name (the subject's name, or its last path element) with every
// digest it records matching, at least one of them strong; every digest
// given in place of an artifact is recorded by a subject.
func checkSubjects(ctx context.Context, subjects []provenance.Resource, artifacts []string, digests []Digest) Check {
	if len(artifacts) == 0 && len(digests) == 0 {
		return result(CheckSubjects, Skipped, "no artifact given (%d subject%s recorded)", len(subjects), plural(len(subjects)))
	}
	type outcome struct {
		err  error
		algs []string
	}
	results := make([]outcome, len(artifacts))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i, a := range artifacts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			if err := ctx.Err(); err != nil {
				results[i].err = err
				return
			}
			results[i].algs, results[i].err = coveredBy(a, subjects)
		}()
	}
	wg.Wait()
	var fails []string
	algs := map[string]bool{}
	for _, d := range digests {
		if subjectWith(subjects, d) {
			algs[d.Algorithm] = true
			continue
		}
		fails = append(fails, fmt.Sprintf("%s: no subject records this digest", shortDigest(d)))
	}
	for _, r := range results {
		if r.err != nil {
			fails = append(fails, r.err.Error())
		}
		for _, a := range r.algs {
			algs[a] = true
		}
	}
	if len(fails) > 0 {
		return result(CheckSubjects, Fail, "%s", strings.Join(fails, "; "))
	}
	names := make([]string, 0, len(algs))
	for a := range algs {
		names = append(names, a)
	}
	sort.Strings(names)
	n := len(artifacts) + len(digests)
	if n == 1 {
		return result(CheckSubjects, Pass, "1 artifact matches its subject (%s)", strings.Join(names, ", "))
	}
	return result(CheckSubjects, Pass, "%d artifacts match their subjects (%s)", n, strings.Join(names, ", "))
}

var strongAlgs = []string{digest.SHA256, digest.SHA512}

// subjectWith reports whether a subject records the digest.
func subjectWith(subjects []provenance.Resource, d Digest) bool {
	for _, s := range subjects {
		if strings.EqualFold(s.Digest[d.Algorithm], d.Hex) {
			return true
		}
	}
	return false
}

func shortDigest(d Digest) string {
	h := d.Hex
	if len(h) > 16 {
		h = h[:16] + "…"
	}
	return d.Algorithm + ":" + h
}

// coveredBy hashes the artifact and returns the algorithms of the subject
// that matched it, or why none did.
func coveredBy(artifact string, subjects []provenance.Resource) ([]string, error) {
	base := filepath.Base(artifact)
	var candidates []provenance.Resource
	for _, s := range subjects {
		if s.URI == base || path.Base(s.URI) == base {
			candidates = append(candidates, s)
		}
	}
	if len(candidates) == 0 {
		return nil, fmt.Errorf("%s: no subject named %s", base, base)
	}
	extra := map[string]bool{}
	for _, c := range candidates {
		for alg := range c.Digest {
			if alg == digest.SHA1 || alg == digest.SHA512 {
				extra[alg] = true
			}
		}
	}
	var extras []string
	for a := range extra {
		extras = append(extras, a)
	}
	sort.Strings(extras)
	got, _, err := digest.File(artifact, extras...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", base, err)
	}
	var why error
	for _, c := range candidates {
		algs, err := matches(c, got)
		if err == nil {
			return algs, nil
		}
		if why == nil {
			why = fmt.Errorf("%s: %w", base, err)
		}
	}
	return nil, why
}

// matches compares every digest a subject records with the computed ones.
func matches(s provenance.Resource, got digest.Set) ([]string, error) {
	strong := false
	for _, a := range strongAlgs {
		if s.Digest[a] != "" {
			strong = true
		}
	}
	if !strong {
		return nil, fmt.Errorf("subject %s records no sha256 or sha512", s.URI)
	}
	algs := make([]string, 0, len(s.Digest))
	for a := range s.Digest {
		algs = append(algs, a)
	}
	sort.Strings(algs)
	for _, a := range algs {
		want := s.Digest[a]
		have, ok := got[a]
		if !ok {
			return nil, fmt.Errorf("subject %s records a %s digest, which cannot be checked", s.URI, a)
		}
		if !strings.EqualFold(want, have) {
			return nil, fmt.Errorf("%s is %s, subject %s records %s", a, have, s.URI, want)
		}
	}
	return algs, nil
}

func checkBuilderID(st *provenance.Record, want string) Check {
	got := st.BuilderID
	switch {
	case want == "":
		return result(CheckBuilderID, Skipped, "not requested (the statement says %s)", orNone(got))
	case got == want:
		return result(CheckBuilderID, Pass, "%s", got)
	}
	return result(CheckBuilderID, Fail, "builder.id is %s, want %s", orNone(got), want)
}

func checkSourceURI(st *provenance.Record, want string) Check {
	got := st.Source.URI
	if want == "" {
		return result(CheckSourceURI, Skipped, "not requested (the statement says %s)", orNone(got))
	}
	if SourceURIMatches(got, want) {
		return result(CheckSourceURI, Pass, "%s", got)
	}
	return result(CheckSourceURI, Fail, "the source is %s, want %s", orNone(got), want)
}

// SourceURIMatches compares a recorded configSource.uri with an expected
// one: exactly when want has an @revision suffix, else with the recorded
// URI's @revision removed. The git+ prefix is optional in want.
func SourceURIMatches(got, want string) bool {
	if got == "" || want == "" {
		return false
	}
	if !strings.HasPrefix(want, "git+") && strings.HasPrefix(got, "git+") {
		want = "git+" + want
	}
	if _, rev := splitRevision(want); rev != "" {
		return got == want
	}
	base, _ := splitRevision(got)
	return base == want
}

// splitRevision splits "git+https://host/org/repo.git@3f2c" into the URI and
// the revision after the first @ of the path (an @ in the authority, as in
// ssh://git@host, is not a revision).
func splitRevision(uri string) (base, rev string) {
	rest := uri
	off := 0
	if i := strings.Index(uri, "://"); i >= 0 {
		off = i + 3
		rest = uri[off:]
		j := strings.IndexByte(rest, '/')
		if j < 0 {
			return uri, ""
		}
		off += j
		rest = rest[j:]
	}
	k := strings.IndexByte(rest, '@')
	if k < 0 {
		return uri, ""
	}
	return uri[:off+k], rest[k+1:]
}

func checkSourceCommit(st *provenance.Record, want string) Check {
	got := st.Source.Digest[digest.SHA1]
	switch {
	case want == "":
		return result(CheckSourceCommit, Skipped, "not requested (the statement says %s)", orNone(got))
	case got != "" && strings.EqualFold(got, want):
		return result(CheckSourceCommit, Pass, "%s", got)
	}
	return result(CheckSourceCommit, Fail, "the source commit is %s, want %s", orNone(got), want)
}

// hexLen is the length of a hex digest per algorithm.
var hexLen = map[string]int{digest.SHA1: 40, digest.SHA256: 64, digest.SHA512: 128}

// gitCommit is the in-toto digest name of a git commit (SLSA v1 writers
// use it where v0.2 used sha1).
const gitCommit = "gitCommit"

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// checkMaterials: every material names a URI and has a strong digest:
// sha256 or sha512, or sha1 / gitCommit alone for a git+ URI (a commit). Every digest
// value given for those algorithms must be well-formed hex.
func checkMaterials(st *provenance.Record) Check {
	var fails []string
	for i, m := range st.Materials {
		name := m.URI
		if name == "" {
			fails = append(fails, fmt.Sprintf("material %d has no uri", i+1))
			continue
		}
		bad := ""
		for a, n := range hexLen {
			if v, ok := m.Digest[a]; ok && !isHex(v, n) {
				bad = fmt.Sprintf("%s: malformed %s %q", name, a, v)
			}
		}
		if bad != "" {
			fails = append(fails, bad)
			continue
		}
		switch {
		case m.Digest[digest.SHA256] != "" || m.Digest[digest.SHA512] != "":
		case (m.Digest[digest.SHA1] != "" || m.Digest[gitCommit] != "") && strings.HasPrefix(name, "git+"):
		case m.Digest[digest.SHA1] != "":
			fails = append(fails, fmt.Sprintf("%s: only a sha1 digest (accepted for git+ commits only)", name))
		default:
			fails = append(fails, fmt.Sprintf("%s: no sha256 or sha512 digest", name))
		}
	}
	if len(fails) > 0 {
		const most = 5
		if len(fails) > most {
			fails = append(fails[:most], fmt.Sprintf("and %d more", len(fails)-most))
		}
		return result(CheckMaterials, Fail, "%s", strings.Join(fails, "; "))
	}
	n := len(st.Materials)
	return result(CheckMaterials, Pass, "%d material%s, each with a uri and a strong digest", n, plural(n))
}

func checkTimes(st *provenance.Record, now time.Time) Check {
	md := struct{ BuildStartedOn, BuildFinishedOn *time.Time }{st.Started, st.Finished}
	if md.BuildStartedOn == nil && md.BuildFinishedOn == nil {
		return result(CheckTimes, Skipped, "the statement records no build times")
	}
	limit := now.Add(MaxSkew)
	var fails []string
	for _, t := range []struct {
		name string
		at   *time.Time
	}{{"buildStartedOn", md.BuildStartedOn}, {"buildFinishedOn", md.BuildFinishedOn}} {
		if t.at != nil && t.at.After(limit) {
			fails = append(fails, fmt.Sprintf("%s %s is in the future", t.name, t.at.UTC().Format(time.RFC3339)))
		}
	}
	if md.BuildStartedOn != nil && md.BuildFinishedOn != nil && md.BuildStartedOn.After(*md.BuildFinishedOn) {
		fails = append(fails, fmt.Sprintf("buildStartedOn %s is after buildFinishedOn %s",
			md.BuildStartedOn.UTC().Format(time.RFC3339), md.BuildFinishedOn.UTC().Format(time.RFC3339)))
	}
	if len(fails) > 0 {
		return result(CheckTimes, Fail, "%s", strings.Join(fails, "; "))
	}
	switch {
	case md.BuildStartedOn == nil:
		return result(CheckTimes, Pass, "finished %s (no start recorded)", md.BuildFinishedOn.UTC().Format(time.RFC3339))
	case md.BuildFinishedOn == nil:
		return result(CheckTimes, Pass, "started %s (no finish recorded)", md.BuildStartedOn.UTC().Format(time.RFC3339))
	}
	return result(CheckTimes, Pass, "%s to %s", md.BuildStartedOn.UTC().Format(time.RFC3339), md.BuildFinishedOn.UTC().Format(time.RFC3339))
}

func result(name string, s Status, format string, args ...any) Check {
	return Check{Name: name, Status: s, Detail: oneLine(fmt.Sprintf(format, args...))}
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
