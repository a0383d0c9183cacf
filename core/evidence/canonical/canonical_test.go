package canonical

import (
	"bytes"
	"testing"

	ita1 "github.com/in-toto/attestation/go/v1"
)

// The same message gives the same bytes every time (protojson's own
// output varies its spacing on purpose), keys sorted, numbers kept as
// written.
func TestMessageIsStable(t *testing.T) {
	st := &ita1.Statement{Type: "https://in-toto.io/Statement/v1", PredicateType: "p",
		Subject: []*ita1.ResourceDescriptor{{Name: "a", Digest: map[string]string{"sha256": "ab", "sha1": "cd"}}}}
	s, err := StructOf(map[string]any{"z": 1, "big": 104857600, "a": []string{"x"}})
	if err != nil {
		t.Fatal(err)
	}
	st.Predicate = s
	first, err := Message(st)
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		again, err := Message(st)
		if err != nil || !bytes.Equal(first, again) {
			t.Fatalf("not stable: %v\n%s\n%s", err, first, again)
		}
	}
	want := `{
  "_type": "https://in-toto.io/Statement/v1",
  "predicate": {
    "a": [
      "x"
    ],
    "big": 104857600,
    "z": 1
  },
  "predicateType": "p",
  "subject": [
    {
      "digest": {
        "sha1": "cd",
        "sha256": "ab"
      },
      "name": "a"
    }
  ]
}
`
	if string(first) != want {
		t.Fatalf("got\n%s\nwant\n%s", first, want)
	}
	ps, err := Struct(st)
	if err != nil || ps.Fields["predicateType"].GetStringValue() != "p" {
		t.Fatalf("Struct: %v %v", ps, err)
	}
}
