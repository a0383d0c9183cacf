package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/internal/fuzzwatch"
)

// fuzzFile is the name the fuzzer gives Parse: a path with a directory,
// so that an error naming only the base name, or another file, shows.
const fuzzFile = "conf/mmbuild.yaml"

// fuzzSeeds are configs of the tests, beside the files of testdata/: the
// options and credentials of every kind of entry, expansion and its
// escapes, YAML features the decoder refuses or must survive.
var fuzzSeeds = []string{
	"handler: {id: make, params: [\"${A}$$$(B)${\"]}\n",
	"a: &x [*x, *x]\nhandler: *x\n",
	"handler: {id: make}\n",
	"runner: {id: make, params: [all]}\n",
	"handler: {id: make}\nenv:\n  - var: OUT\n    value: out-${HOME}\nprovenance: ${OUT}/att\n",
	"handler: {id: make}\nenv:\n  - var: A\n    value: a-${B}\n  - var: B\n    value: declared\nprovenance: ${A}\n",
	"handler: {id: make}\nenv:\n  - var: TAG\n    valueFrom: {env: CI_COMMIT_TAG}\n    optional: true\nprovenance: ${TAG}\n",
	"handler: {id: make}\nprovenance: a$$b-$${X}-$$$$\n",
	"handler: {id: make}\nsecrets: [{name: S}]\nprovenance: ${S}\n",
	"handler: {id: make}\nsource: {repo: r, commit: \"${SHA}\"}\n",
	"handler: {id: make}\nsecrets: [{name: T, from: env://T}]\nenv:\n  - var: X\n    valueFrom: {secret: T}\n  - var: Y\n    valueFrom: {env: T}\nprovenance: ${Y}\n",
	"handler: {id: make}\nartifacts: {files: [a]}\nsecrets: [{name: TOKEN, from: env://T}]\ncredentials:\n  - url: https://h.example/\n    secret: TOKEN\n    header: X-Token\n",
	"handler:\n  id: make\n  options: {jobs: 4, file: build.mk}\nsecrets:\n  - name: TOKEN\n  - name: USER\nmaterials:\n  - uri: https://h/a\n    options: {timeout: \"${T}\", literal: \"$$x\"}\nartifacts:\n  files: [x]\n  destination: s3://b/\n  options: {storage_class: STANDARD}\ntransfers:\n  - source: [x]\n    destination: s3://rel/${DIR}\n    options: {acl: private}\ncredentials:\n  - url: https://h/\n    secrets: {username: USER, password: TOKEN}\n    options: {realm: x}\n",
	"handler: {id: make}\nmaterials:\n  - uri: \"${URL}\"\n    digest: {sha256: 9b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c}\n    attestation: \"${ATT}\"\n",
	"handler: {id: make}\nreplacements:\n  - paths: [\"${P}\"]\n    tag: \"%V%\"\n    value: ${V}\n",
	"handler: {id: make}\n---\nhandler: {id: make}\n",
	"handler: {id: make}\n<<: {sbom: true}\n",
	"handler: &h {id: make, params: [&p x, *p]}\nsbom: true\nprovenance: out/\n",
	"handler: {id: make}\nprovenance: \"a\\nb\\r\\u0085\"\n",
	"\xef\xbb\xbfhandler: {id: make}\r\nsbom: yes\r\n",
	"handler: !!binary aGVsbG8=\n",
	"handler: {id: make, params: [\x01]}\n",
}

// FuzzParse checks that no input panics (not even one that Parse would
// recover from) or hangs, and that every error, from Parse or from Expand,
// is an *Error on one line at a position in the file given. An Expand that
// fails leaves the config as it was.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*", "*.yaml"))
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		defer fuzzwatch.Start("Parse and Expand", data)()
		c, err := Parse(fuzzFile, data)
		if err != nil {
			checkError(t, "Parse", err)
			return
		}
		if c.Path != fuzzFile {
			t.Fatalf("Path = %q, want %q", c.Path, fuzzFile)
		}
		for _, lookup := range []func(string) (string, bool){fuzzLookup, fuzzURLLookup} {
			c, err := Parse(fuzzFile, data)
			if err != nil {
				t.Fatalf("a second Parse of the same input fails: %v", err)
			}
			before, _ := Parse(fuzzFile, data)
			if err := c.Expand(lookup); err != nil {
				checkError(t, "Expand", err)
				if !reflect.DeepEqual(c, before) {
					t.Fatalf("Expand failed (%v) and changed the config", err)
				}
				continue
			}
			if err := c.Validate(); err != nil && strings.ContainsAny(err.Error(), "\r\n") {
				t.Fatalf("Validate error spans lines: %q", err)
			}
		}
	})
}

// fuzzLookup stands for a running environment: names starting with U are
// unset, E empty; the others are set to values with a "$" (not to be
// expanded again) and a newline (which no error may carry).
func fuzzLookup(name string) (string, bool) {
	switch {
	case strings.HasPrefix(name, "U"):
		return "", false
	case strings.HasPrefix(name, "E"):
		return "", true
	}
	return "v$" + name + "\n", true
}

// fuzzURLLookup sets every variable to a URL carrying credentials and a
// query, which the URL checks after expansion see.
func fuzzURLLookup(name string) (string, bool) {
	if strings.HasPrefix(name, "U") {
		return "", false
	}
	return "https://user:pw@h.example/" + name + "?sig=1#${X}", true
}

func checkError(t *testing.T, what string, err error) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("%s error %q is a %T, not an *Error", what, err, err)
	}
	msg := err.Error()
	if strings.ContainsAny(msg, "\r\n") {
		t.Fatalf("%s error spans lines: %q", what, msg)
	}
	if e.Pos.File != fuzzFile || !strings.HasPrefix(msg, fuzzFile) {
		t.Fatalf("%s error is not in %s: Pos %+v, %q", what, fuzzFile, e.Pos, msg)
	}
	if e.Pos.Line < 0 || e.Pos.Col < 0 {
		t.Fatalf("%s error at a negative position: %+v", what, e.Pos)
	}
	// Parse recovers from its own panics into this error: still a bug.
	if strings.Contains(e.Msg, "internal error") {
		t.Fatalf("%s panicked: %q", what, msg)
	}
}
