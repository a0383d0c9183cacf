package vsa

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"
)

func sample() Summary {
	return Summary{
		TimeVerified: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC),
		ResourceURI:  "s3://bucket/builds/abc/",
		Inputs:       []Input{{URI: "file:///tmp/provenance.intoto.jsonl", Digest: map[string]string{"sha256": strings.Repeat("c", 64)}}},
		Subjects: []Subject{
			{Name: "z.tar.gz", Digest: map[string]string{"sha256": strings.Repeat("a", 64)}, Outcome: Differs, Rebuilt: strings.Repeat("b", 64)},
			{Name: "a.tar.gz", Digest: map[string]string{"sha256": strings.Repeat("1", 64)}, Outcome: Match},
		},
	}
}

func TestRoundTrip(t *testing.T) {
	for _, passed := range []bool{true, false} {
		s := sample()
		s.Passed = passed
		data, err := Encode(s)
		if err != nil {
			t.Fatal(err)
		}
		again, _ := Encode(s)
		if !bytes.Equal(data, again) {
			t.Fatal("not deterministic")
		}
		back, err := Decode(data)
		if err != nil {
			t.Fatal(err)
		}
		if back.Passed != passed || back.VerifierID != DefaultVerifierID || back.PolicyURI != ReplayPolicy ||
			back.ResourceURI != s.ResourceURI || !back.TimeVerified.Equal(s.TimeVerified) || !reflect.DeepEqual(back.Inputs, s.Inputs) {
			t.Fatalf("%+v", back)
		}
		if back.Subjects[0].Name != "a.tar.gz" || back.Subjects[1].Outcome != Differs || back.Subjects[1].Rebuilt != strings.Repeat("b", 64) {
			t.Fatalf("subjects %+v", back.Subjects)
		}
		if got := strings.Join(back.Differing(), ","); got != "z.tar.gz" {
			t.Fatalf("differing %s", got)
		}
		want := []string{LevelBuild0}
		if passed {
			want = []string{LevelBuild1, LevelReproduced}
		}
		if !reflect.DeepEqual(back.Levels, want) {
			t.Fatalf("levels %v, want %v", back.Levels, want)
		}
	}
}

func TestDecodeRefuses(t *testing.T) {
	good, err := Encode(sample())
	if err != nil {
		t.Fatal(err)
	}
	for name, bad := range map[string]string{
		"unknown predicate field": strings.Replace(string(good), `"resourceUri"`, `"colour": "red", "resourceUri"`, 1),
		"unknown result":          strings.Replace(string(good), `"verificationResult": "FAILED"`, `"verificationResult": "MAYBE"`, 1),
		"other predicate":         strings.Replace(string(good), PredicateType, "https://slsa.dev/provenance/v1", 1),
		"duplicate key":           strings.Replace(string(good), `"resourceUri"`, `"resourceUri": "x", "resourceUri"`, 1),
		"no verifier":             strings.Replace(string(good), `"id": "`+DefaultVerifierID+`"`, `"id": ""`, 1),
	} {
		if bad == string(good) {
			t.Fatalf("%s: the mutation changed nothing", name)
		}
		if _, err := Decode([]byte(bad)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := Encode(Summary{}); err == nil {
		t.Error("a VSA without subjects was written")
	}
}
