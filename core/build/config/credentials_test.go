package config

import (
	"strings"
	"testing"
)

func TestCredentials(t *testing.T) {
	base := "handler: {id: make}\nartifacts: {files: [a]}\nsecrets: [{name: TOKEN, from: env://T}]\n"
	ok, err := Parse("mmbuild.yaml", []byte(base+"credentials:\n  - url: https://h.example/\n    secret: TOKEN\n    header: X-Token\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c := ok.Credentials; len(c) != 1 || c[0].URL != "https://h.example/" || c[0].Secret != "TOKEN" || c[0].Header != "X-Token" || c[0].Pos.Line != 5 {
		t.Fatalf("credentials %+v", c)
	}
	tests := []struct{ yaml, want string }{
		{"credentials:\n  - url: https://h/\n    secret: NOPE\n", `mmbuild.yaml:6:13: undeclared secret "NOPE"`},
		{"credentials:\n  - secret: TOKEN\n", "credentials[0].url is required"},
		{"credentials:\n  - url: h\n    secret: TOKEN\n", "is not a URL"},
		{"credentials:\n  - url: https://h/\n    secret: TOKEN\n    header: 'A: b'\n", "must be a header name"},
		{"credentials:\n  - url: https://h/\n    secret: TOKEN\n    token: x\n", `unknown key "token"`},
	}
	for _, tt := range tests {
		_, err := Parse("mmbuild.yaml", []byte(base+tt.yaml))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: err = %v, want %q", tt.yaml, err, tt.want)
		}
	}
}
