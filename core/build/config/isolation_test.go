package config

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseIsolation(t *testing.T) {
	const head = "handler: {id: make}\nartifacts: {files: [a]}\n"
	for _, tc := range []struct {
		name, yaml string
		want       *Isolation
		err        string
	}{
		{"absent", "", nil, ""},
		{"all set", "isolation: {mode: required, network: none, readOnly: [/opt/tool]}\n",
			&Isolation{Mode: "required", Network: "none", ReadOnly: []string{"/opt/tool"}}, ""},
		{"bad mode", "isolation: {mode: strict}\n", nil, `a.yaml:3:19: isolation.mode: invalid isolation mode "strict": expected auto or required or off`},
		{"bad network", "isolation:\n  network: bridge\n", nil, `a.yaml:4:12: isolation.network: invalid isolation network "bridge"`},
		{"relative folder", "isolation: {readOnly: [tools]}\n", nil, `isolation.readOnly[0]: "tools": give an absolute folder other than /`},
		{"root folder", "isolation: {readOnly: [/]}\n", nil, `give an absolute folder other than /`},
		{"unknown key", "isolation: {seccomp: strict}\n", nil, "seccomp"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse("a.yaml", []byte(head+tc.yaml))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Isolation != nil {
				c.Isolation.Pos = Position{}
			}
			if !reflect.DeepEqual(c.Isolation, tc.want) {
				t.Errorf("isolation = %+v, want %+v", c.Isolation, tc.want)
			}
		})
	}
}
