package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse checks that no input panics, and that every error, from Parse
// or from Expand, is an *Error on one line.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*", "*.yaml"))
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("handler: {id: make, params: [\"${A}$$$(B)${\"]}\n"))
	f.Add([]byte("a: &x [*x, *x]\nhandler: *x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("mmbuild.yaml", data)
		if err != nil {
			checkError(t, "Parse", err)
			return
		}
		err = c.Expand(func(name string) (string, bool) {
			if strings.HasPrefix(name, "U") {
				return "", false
			}
			return "v$" + name + "\n", true
		})
		if err != nil {
			checkError(t, "Expand", err)
		}
	})
}

func checkError(t *testing.T, what string, err error) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("%s error %q is a %T, not an *Error", what, err, err)
	}
	if msg := err.Error(); strings.ContainsAny(msg, "\r\n") {
		t.Fatalf("%s error spans lines: %q", what, msg)
	}
	if !strings.HasPrefix(err.Error(), "mmbuild.yaml") {
		t.Fatalf("%s error does not start with the file name: %q", what, err)
	}
}
