package provenance

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func sample() Build {
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	return Build{
		HandlerID:    "make",
		Params:       []string{"all"},
		ConfigSource: Resource{URI: "git+https://example.com/app.git@0123", Digest: Digest{"sha1": "0123"}},
		EntryPoint:   "mmbuild.yaml",
		Environment:  map[string]string{"PATH": "/usr/bin", "TOKEN": Redacted},
		Materials: []Resource{
			{URI: "file:///m/b", Digest: Digest{"sha256": "bb"}},
			{URI: "file:///m/a", Digest: Digest{"sha256": "aa"}},
		},
		Subjects: []Resource{
			{URI: "z.tar.gz", Digest: Digest{"sha256": "zz"}},
			{URI: "a.tar.gz", Digest: Digest{"sha256": "a1"}},
		},
		InvocationID: "inv-1",
		Started:      t0,
		Finished:     t0.Add(time.Second),
		Completeness: Completeness{Parameters: true, Environment: true, Materials: true},
	}
}

func TestDeterministicAndRoundTrip(t *testing.T) {
	b := sample()
	st1, err := New(b)
	if err != nil {
		t.Fatal(err)
	}
	// Same inputs in another order give the same bytes.
	b2 := sample()
	b2.Materials[0], b2.Materials[1] = b2.Materials[1], b2.Materials[0]
	b2.Subjects[0], b2.Subjects[1] = b2.Subjects[1], b2.Subjects[0]
	st2, err := New(b2)
	if err != nil {
		t.Fatal(err)
	}
	j1, _ := Marshal(st1)
	j2, _ := Marshal(st2)
	if !bytes.Equal(j1, j2) {
		t.Fatalf("not deterministic:\n%s\n%s", j1, j2)
	}
	back, err := Parse(j1)
	if err != nil {
		t.Fatal(err)
	}
	if back.Subject[0].Name != "a.tar.gz" || back.Predicate.Materials[0].URI != "file:///m/a" {
		t.Fatalf("not sorted: %+v", back.Subject)
	}
	if back.Predicate.BuildType != "https://mmbuild.dev/buildtypes/make/v1" || back.Predicate.Builder.ID != DefaultBuilderID {
		t.Fatalf("builder/buildType: %+v", back.Predicate)
	}
	if !back.Predicate.Metadata.BuildStartedOn.Equal(b.Started) {
		t.Fatal("start time lost")
	}
}

func TestRefusals(t *testing.T) {
	b := sample()
	b.Subjects = nil
	if _, err := New(b); err == nil {
		t.Fatal("statement without subjects")
	}
	b = sample()
	b.Subjects[0].Digest = Digest{"sha1": "x"}
	if _, err := New(b); err == nil {
		t.Fatal("subject without sha256")
	}
	for _, bad := range []string{
		`{"_type":"https://in-toto.io/Statement/v1","predicateType":"https://slsa.dev/provenance/v0.2"}`,
		`{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"x"}`,
		`{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"https://slsa.dev/provenance/v0.2","extra":1}`,
		`not json`,
	} {
		if _, err := Parse([]byte(bad)); err == nil || strings.Contains(err.Error(), "\n") {
			t.Errorf("Parse(%s) = %v", bad, err)
		}
	}
}
