// Package attest makes the evidence of artifacts mmbuild did not build
// (mmbuild attest, the peer of witness run and cosign attest-blob): their
// provenance statement, signed, and their SBOM, through the one assembler
// (evidence.Assemble). The statement says honestly what mmbuild did not
// control: its own build type (provenance.AttestBuildType), every
// completeness flag false, no environment and no build times.
package attest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/mmbuild/mmbuild/core/build/outfile"
	"github.com/mmbuild/mmbuild/core/build/remote"
	"github.com/mmbuild/mmbuild/core/build/source"
	"github.com/mmbuild/mmbuild/core/build/workspace"
	"github.com/mmbuild/mmbuild/core/evidence"
	"github.com/mmbuild/mmbuild/core/evidence/attestation"
	"github.com/mmbuild/mmbuild/core/evidence/cifacts"
	"github.com/mmbuild/mmbuild/core/evidence/digest"
	"github.com/mmbuild/mmbuild/core/evidence/provenance"
	"github.com/mmbuild/mmbuild/core/evidence/sbom"
	"github.com/mmbuild/mmbuild/core/evidence/signing"
)

// Request says what to attest.
type Request struct {
	// Dir is the folder the subject patterns are relative to; no subject
	// may lie outside it. Default: the current folder.
	Dir string
	// Subjects are globs (with **) of the artifacts, relative to Dir;
	// each must match a regular file, and the files' base names (the
	// subjects' names) must differ.
	Subjects []string
	// Materials are the inputs the build used: a local file (hashed here),
	// or URI@ALG:HEX (sha256, sha512, sha1) with its digest as given, or a
	// git+URL@COMMIT.
	Materials []string
	// Format is the provenance version ("" is v0.2).
	Format provenance.Format
	// Signers sign the statements; none writes them unsigned.
	Signers []signing.Signer
	// SBOMFormats asks for SBOMs of the subjects (sbom.SPDX, sbom.CycloneDX).
	SBOMFormats []string
	// BuilderID is builder.id; default $MMBUILD_BUILDER_ID, else the CI
	// runner's, else provenance.DefaultBuilderID.
	BuilderID string
	// ToolVersion is mmbuild's version (builder.version in v1).
	ToolVersion string
	// LookupEnv is the environment CI facts are read from. Default
	// os.LookupEnv.
	LookupEnv func(string) (string, bool)
}

// Result is what Write wrote.
type Result struct {
	// Files are the paths written, the statement last.
	Files         []string              `json:"files"`
	Statement     string                `json:"statement"`
	PredicateType string                `json:"predicateType"`
	BuildType     string                `json:"buildType"`
	Signed        bool                  `json:"signed"`
	Subjects      []attestation.Subject `json:"subjects"`
}

// Write attests req and writes the evidence into outDir, all files or
// none; no file it writes replaces a subject or a material.
func Write(ctx context.Context, req Request, outDir string) (*Result, error) {
	ev, inputs, err := assemble(ctx, req)
	if err != nil {
		return nil, err
	}
	var files []outfile.File
	res := &Result{PredicateType: ev.Statement.PredicateType, BuildType: ev.Statement.BuildType, Signed: len(req.Signers) > 0}
	for _, sub := range ev.Statement.Subjects {
		res.Subjects = append(res.Subjects, attestation.Subject{Name: sub.URI, Digest: sub.Digest})
	}
	for _, f := range ev.Files() {
		p := filepath.Join(outDir, f.Name)
		if err := outfile.Check(p, inputs...); err != nil {
			return nil, fmt.Errorf("-o %s: %w", outDir, err)
		}
		files = append(files, outfile.File{Path: p, Data: f.Data})
		res.Files = append(res.Files, p)
	}
	if err := outfile.WriteAll(files, 0o644); err != nil {
		return nil, fmt.Errorf("-o %s: %w", outDir, err)
	}
	res.Statement = res.Files[len(res.Files)-1]
	return res, nil
}

// Evidence hashes the subjects and materials and assembles the evidence,
// without writing anything.
func Evidence(ctx context.Context, req Request) (*evidence.Evidence, error) {
	ev, _, err := assemble(ctx, req)
	return ev, err
}

// assemble is Evidence, with the local files it read (which no output may
// replace).
func assemble(ctx context.Context, req Request) (*evidence.Evidence, []string, error) {
	lookup := req.LookupEnv
	if lookup == nil {
		lookup = os.LookupEnv
	}
	dir := req.Dir
	if dir == "" {
		dir = "."
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, nil, err
	}
	if len(req.Subjects) == 0 {
		return nil, nil, fmt.Errorf("no --subject given: name the artifacts to attest")
	}
	files, err := workspace.Match(dir, req.Subjects, func(i int) string { return fmt.Sprintf("--subject %s", req.Subjects[i]) })
	if err != nil {
		return nil, nil, err
	}
	subjects, arts, err := hashSubjects(files)
	if err != nil {
		return nil, nil, err
	}
	for _, a := range arts {
		if slices.Contains(evidence.Names(), a.Name) {
			return nil, nil, fmt.Errorf("--subject: %s is named like the evidence written beside it: rename it", a.Name)
		}
	}
	mats, local, err := materials(req.Materials)
	if err != nil {
		return nil, nil, err
	}
	src, err := source.WorkTree(dir)
	if err != nil {
		return nil, nil, err
	}
	ci := cifacts.Detect(lookup)
	b := provenance.Build{
		BuildType: provenance.AttestBuildType,
		Params:    req.Subjects,
		Subjects:  subjects,
		Materials: mats,
		// Nothing is complete: mmbuild saw neither the build's parameters
		// nor its environment nor every input.
		Completeness: provenance.Completeness{},
		Run:          provenance.RunFacts{BuilderID: provenance.ChooseBuilderID(req.BuilderID, lookup, ci), InvocationID: provenance.NewInvocationID(), CI: ci},
	}
	if src.Commit != "" {
		// As run records it; the work tree's origin has no credentials.
		b.ConfigSource = provenance.Resource{URI: src.URI(), Digest: provenance.Digest{"sha1": src.Commit}}
		b.Materials = append(b.Materials, b.ConfigSource)
		b.Config.SourceDirty = src.Dirty
	}
	if req.ToolVersion != "" {
		b.BuilderVersion = map[string]string{"mmbuild": req.ToolVersion}
	}
	er := evidence.Request{Build: b, Format: req.Format, Signers: req.Signers}
	if len(req.SBOMFormats) > 0 {
		in := sbom.Inputs{Name: filepath.Base(dir), Artifacts: arts}
		if src.Commit != "" {
			in.Source = &sbom.Source{Repo: src.Repo, Commit: src.Commit}
			in.Created = src.CommitTime
		}
		for _, m := range mats {
			in.Materials = append(in.Materials, sbom.Material{URI: m.URI, Digest: m.Digest})
		}
		if req.ToolVersion != "" {
			in.Tools = []sbom.Tool{{Name: "mmbuild", Version: req.ToolVersion}}
		}
		er.SBOM = &evidence.SBOMRequest{Inputs: in, Formats: req.SBOMFormats}
	}
	ev, err := evidence.Assemble(ctx, er)
	if err != nil {
		return nil, nil, err
	}
	return ev, append(files, local...), nil
}

// hashSubjects hashes each file (sha256 and sha512), named by its base
// name, which must be unique.
func hashSubjects(files []string) ([]provenance.Resource, []sbom.Artifact, error) {
	var subjects []provenance.Resource
	var arts []sbom.Artifact
	seen := map[string]string{}
	for _, f := range files {
		name := filepath.Base(f)
		if prev, dup := seen[name]; dup {
			return nil, nil, fmt.Errorf("--subject: %s and %s have the same name %s: a subject is named by its file name", prev, f, name)
		}
		seen[name] = f
		set, size, err := digest.File(f, digest.SHA512)
		if err != nil {
			return nil, nil, fmt.Errorf("--subject: hashing %s: %w", f, err)
		}
		subjects = append(subjects, provenance.Resource{URI: name, Digest: provenance.Digest{digest.SHA256: set[digest.SHA256], digest.SHA512: set[digest.SHA512]}})
		arts = append(arts, sbom.Artifact{Name: name, Digest: set, Size: size})
	}
	return subjects, arts, nil
}

var (
	digestSuffix = regexp.MustCompile(`@(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128}|sha1:[0-9a-f]{40})$`)
	gitCommit    = regexp.MustCompile(`^git\+.+@([0-9a-f]{40})$`)
)

// materials reads --material values: URI@ALG:HEX, git+URL@COMMIT, or a
// local file (a path or file:// URL) that is hashed here.
func materials(given []string) ([]provenance.Resource, []string, error) {
	var out []provenance.Resource
	var local []string
	for _, m := range given {
		if loc := digestSuffix.FindStringSubmatchIndex(m); loc != nil {
			alg, hex, _ := strings.Cut(m[loc[2]:loc[3]], ":")
			out = append(out, provenance.Resource{URI: remote.Redact(m[:loc[0]]), Digest: provenance.Digest{alg: hex}})
			continue
		}
		if g := gitCommit.FindStringSubmatch(m); g != nil {
			out = append(out, provenance.Resource{URI: remote.Redact(m), Digest: provenance.Digest{"sha1": g[1]}})
			continue
		}
		path := strings.TrimPrefix(m, "file://")
		if strings.Contains(path, "://") {
			return nil, nil, fmt.Errorf("--material %s: give its digest as URI@sha256:HEX (mmbuild attest fetches nothing)", remote.Redact(m))
		}
		abs, err := filepath.Abs(path)
		if err != nil {
			return nil, nil, fmt.Errorf("--material %s: %w", m, err)
		}
		fi, err := os.Stat(abs)
		if err != nil {
			return nil, nil, fmt.Errorf("--material %s: %w", m, err)
		}
		if !fi.Mode().IsRegular() {
			return nil, nil, fmt.Errorf("--material %s: not a regular file", m)
		}
		set, _, err := digest.File(abs)
		if err != nil {
			return nil, nil, fmt.Errorf("--material %s: hashing: %w", m, err)
		}
		out = append(out, provenance.Resource{URI: "file://" + filepath.ToSlash(abs), Digest: provenance.Digest{digest.SHA256: set[digest.SHA256]}})
		local = append(local, abs)
	}
	return out, local, nil
}
