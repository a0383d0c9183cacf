package provenance

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	slsa1 "github.com/in-toto/attestation/go/predicates/provenance/v1"
	ita1 "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

const commit = "0123456789abcdef0123456789abcdef01234567"

func sample() Build {
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	return Build{
		HandlerID:      "make",
		BuilderVersion: map[string]string{"mmbuild": "0.2.0"},
		Params:         []string{"all"},
		Options:        map[string]string{"jobs": "2"},
		ConfigSource:   Resource{URI: "git+https://example.com/app.git@" + commit, Digest: Digest{"sha1": commit}},
		EntryPoint:     "mmbuild.yaml",
		Environment:    map[string]string{"PATH": "/usr/bin", "TOKEN": Redacted},
		Materials: []Resource{
			{URI: "file:///m/b", Digest: Digest{"sha256": strings.Repeat("b", 64)}},
			{URI: "git+https://example.com/app.git@" + commit, Digest: Digest{"sha1": commit}},
			{URI: "file:///m/a", Digest: Digest{"sha256": strings.Repeat("a", 64)}},
		},
		Subjects: []Resource{
			{URI: "z.tar.gz", Digest: Digest{"sha256": strings.Repeat("f", 64)}},
			{URI: "a.tar.gz", Digest: Digest{"sha256": strings.Repeat("1", 64)}},
		},
		Run:          RunFacts{InvocationID: "inv-1", Started: t0, Finished: t0.Add(time.Second)},
		Completeness: Completeness{Parameters: true, Environment: true, Materials: true},
		Config: BuildConfig{
			StagingKey: "k", Cacheable: true,
			StorageOptions: map[string]map[string]string{"materials[0]": {"region": "eu"}},
		},
	}
}

var formats = []Format{V02, V1}

// The same build gives the same bytes in either format, whatever the order
// of its inputs, and reads back as what was written.
func TestDeterministicAndRoundTrip(t *testing.T) {
	for _, f := range formats {
		t.Run(string(f), func(t *testing.T) {
			b := sample()
			j1, err := Encode(b, f)
			if err != nil {
				t.Fatal(err)
			}
			b2 := sample()
			b2.Materials[0], b2.Materials[2] = b2.Materials[2], b2.Materials[0]
			b2.Subjects[0], b2.Subjects[1] = b2.Subjects[1], b2.Subjects[0]
			for i := 0; i < 5; i++ { // protojson's spacing varies; ours must not
				j2, err := Encode(b2, f)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(j1, j2) {
					t.Fatalf("not deterministic:\n%s\n%s", j1, j2)
				}
			}
			rec, err := Decode(j1)
			if err != nil {
				t.Fatal(err)
			}
			if rec.Format != f || rec.PredicateType != f.PredicateType() {
				t.Fatalf("format %s %s", rec.Format, rec.PredicateType)
			}
			if rec.Subjects[0].URI != "a.tar.gz" || rec.Materials[0].URI != "file:///m/a" {
				t.Fatalf("not sorted: %+v %+v", rec.Subjects, rec.Materials)
			}
			if rec.BuildType != "https://mmbuild.dev/buildtypes/make/v1" || rec.BuilderID != DefaultBuilderID {
				t.Fatalf("builder/buildType: %+v", rec)
			}
			if rec.Started == nil || !rec.Started.Equal(b.Run.Started) || !rec.Finished.Equal(b.Run.Finished) || rec.InvocationID != "inv-1" {
				t.Fatalf("metadata lost: %+v", rec)
			}
			if rec.Source.URI != b.ConfigSource.URI || rec.Source.Digest["sha1"] != commit || rec.EntryPoint != "mmbuild.yaml" {
				t.Fatalf("source: %+v %s", rec.Source, rec.EntryPoint)
			}
			inv, err := rec.Invocation()
			if err != nil {
				t.Fatal(err)
			}
			want := &Invocation{Handler: "make", Params: []string{"all"}, Options: b.Options, Env: b.Environment}
			if !reflect.DeepEqual(inv, want) {
				t.Fatalf("invocation %+v, want %+v", inv, want)
			}
			if !reflect.DeepEqual(rec.Config, b.Config) {
				t.Fatalf("buildConfig %+v, want %+v", rec.Config, b.Config)
			}
		})
	}
}

// A v1 statement is what the in-toto attestation library decodes and
// validates on its own, in the SLSA v1 layout, every field where the spec
// puts it.
func TestV1Layout(t *testing.T) {
	data, err := Encode(sample(), V1)
	if err != nil {
		t.Fatal(err)
	}
	var st ita1.Statement
	if err := protojson.Unmarshal(data, &st); err != nil {
		t.Fatal(err)
	}
	if err := st.Validate(); err != nil {
		t.Fatal(err)
	}
	if st.GetType() != StatementV1 || st.GetPredicateType() != PredicateV1 {
		t.Fatalf("types %s %s", st.GetType(), st.GetPredicateType())
	}
	pb, _ := protojson.Marshal(st.GetPredicate())
	var pred slsa1.Provenance
	if err := protojson.Unmarshal(pb, &pred); err != nil {
		t.Fatal(err)
	}
	if err := pred.Validate(); err != nil {
		t.Fatal(err)
	}
	def := pred.GetBuildDefinition()
	ext := def.GetExternalParameters().AsMap()
	if ext["handler"] != "make" || ext["source"].(map[string]any)["entryPoint"] != "mmbuild.yaml" {
		t.Fatalf("externalParameters %v", ext)
	}
	if _, ok := ext["environment"]; !ok {
		t.Fatalf("environment missing from externalParameters %v", ext)
	}
	if _, ok := ext["storageOptions"]; !ok {
		t.Fatalf("storage options (user-controlled) not in externalParameters %v", ext)
	}
	in := def.GetInternalParameters().AsMap()
	if in["stagingKey"] != "k" || in["storageOptions"] != nil {
		t.Fatalf("internalParameters %v", in)
	}
	deps := def.GetResolvedDependencies()
	if len(deps) != 3 {
		t.Fatalf("resolvedDependencies %v", deps)
	}
	var git *ita1.ResourceDescriptor
	for _, d := range deps {
		if strings.HasPrefix(d.GetUri(), "git+") {
			git = d
		}
	}
	if git == nil || git.GetDigest()["gitCommit"] != commit {
		t.Fatalf("source commit not a gitCommit dependency: %v", deps)
	}
	b := pred.GetRunDetails().GetBuilder()
	if b.GetId() != DefaultBuilderID || b.GetVersion()["mmbuild"] != "0.2.0" {
		t.Fatalf("builder %v", b)
	}
	if pred.GetRunDetails().GetMetadata().GetInvocationId() != "inv-1" {
		t.Fatal("invocation id")
	}
}

func TestRefusals(t *testing.T) {
	for _, f := range formats {
		b := sample()
		b.Subjects = nil
		if _, err := Encode(b, f); err == nil {
			t.Fatalf("%s: statement without subjects", f)
		}
		b = sample()
		b.Subjects[0].Digest = Digest{"sha1": "x"}
		if _, err := Encode(b, f); err == nil {
			t.Fatalf("%s: subject without sha256", f)
		}
	}
	v1, _ := Encode(sample(), V1)
	mutate := func(s, old, new string) string {
		if !strings.Contains(s, old) {
			t.Fatalf("%q not in the statement", old)
		}
		return strings.Replace(s, old, new, 1)
	}
	for _, bad := range []string{
		`{"_type":"https://in-toto.io/Statement/v1","predicateType":"https://slsa.dev/provenance/v0.2"}`,
		`{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"x","predicate":{}}`,
		`{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"https://slsa.dev/provenance/v0.2","extra":1}`,
		`not json`,
		// v1: unknown fields anywhere, a missing builder id, a malformed
		// digest, a subject without a digest, an mmbuild statement whose
		// parameters are not mmbuild's.
		mutate(string(v1), `"buildType":`, `"colour": "red", "buildType":`),
		mutate(string(v1), `"id": "`+DefaultBuilderID+`"`, `"id": ""`),
		mutate(string(v1), `"gitCommit": "`+commit+`"`, `"gitCommit": "xyz"`),
		mutate(string(v1), `"handler": "make"`, `"handler": "make", "shell": "sh"`),
		mutate(string(v1), `"sha256": "`+strings.Repeat("1", 64)+`"`, `"sha256": "11"`),
	} {
		if _, err := Decode([]byte(bad)); err == nil || strings.Contains(err.Error(), "\n") {
			t.Errorf("Decode(%.200s) = %v", bad, err)
		}
	}
}

// Provenance v1 that another builder wrote (GitHub's artifact attestations
// layout) reads: its source is the git dependency with a commit.
func TestDecodeOtherBuilder(t *testing.T) {
	data, err := os.ReadFile("testdata/github-v1.json")
	if err != nil {
		t.Fatal(err)
	}
	rec, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Format != V1 || rec.BuilderID != "https://github.com/actions/runner/github-hosted" {
		t.Fatalf("%+v", rec)
	}
	if rec.Source.URI != "git+https://github.com/octo/app@refs/heads/main" || rec.Source.Digest["sha1"] != "7d2c1b0a9f8e7d6c5b4a39281706f5e4d3c2b1a0" {
		t.Fatalf("source %+v", rec.Source)
	}
	if _, err := rec.Invocation(); err == nil {
		t.Fatal("another builder's parameters read as mmbuild's")
	}
	var ext map[string]any
	if err := json.Unmarshal(rec.Parameters, &ext); err != nil || ext["workflow"] == nil {
		t.Fatalf("parameters %s %v", rec.Parameters, err)
	}
}

func TestParseFormat(t *testing.T) {
	for in, want := range map[string]Format{"": V02, "v0.2": V02, "0.2": V02, "v1": V1, "1": V1, "1.0": V1} {
		if got, err := ParseFormat(in); err != nil || got != want {
			t.Errorf("ParseFormat(%q) = %s, %v", in, got, err)
		}
	}
	if _, err := ParseFormat("v2"); err == nil || !strings.Contains(err.Error(), "v0.2 or v1") {
		t.Errorf("ParseFormat(v2) = %v", err)
	}
}
