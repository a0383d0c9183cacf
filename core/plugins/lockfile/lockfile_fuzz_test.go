package lockfile

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/internal/fuzzwatch"
)

// lockSeeds are lock files of the tests, beside those of testdata/: the
// HCL forms a hand-edited lock may use for the same values (escapes,
// templates without variables, heredocs, quoted keys, trailing commas).
var lockSeeds = []string{
	"",
	header,
	"plugin \"make\" {\n  version = \"0.1.0\"\n  hashes  = { linux_amd64 = \"" + fuzzSum + "\" }\n}\n",
	"plugin \"make\" {\n  version = \"v$${x}%%{y}\\\"\\\\\\u00e9\\t\"\n  kinds = [\"handler:make\", \"storage:git+ssh\",]\n  hashes = {\n    \"linux_amd64\" = \"" + fuzzSum + "\",\n    darwin_arm64 = \"sha256:${\"fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210\"}\"\n  }\n}\n",
	"plugin \"make\" {\n  version = <<EOT\n1.0\nEOT\n  hashes = { linux_amd64 = \"" + fuzzSum + "\" }\n}\n",
	"plugin \"a\" {\n  version = \"${\"1.\"}${\"0\"}\"\n  kinds = [\"storage:s3\"]\n  hashes = { linux_amd64 = \"" + fuzzSum + "\" }\n}\nplugin \"b\" {\n  version = \"\"\n  kinds = [\"storage:s3\"]\n  hashes = { linux_amd64 = \"" + fuzzSum + "\" }\n}\n",
	"plugin \"x\" {\n  version = \"e\u0301 \u212b \U0001F600\"\n  hashes = { linux_amd64 = \"" + fuzzSum + "\" }\n}\n",
	"plugin \"x\" { version = \"1\" hashes = {} }\n",
	"plugin \"x\" {\n  version = \"\xff\"\n}\n",
	"plugin \"x\" {\n  version = null\n  hashes = null\n  kinds = null\n}\n",
	"plugin \"x\" {\n  version = \"1\"\n  hashes = { \"linux_${\"amd64\"}\" = \"" + fuzzSum + "\" }\n}\n",
}

const fuzzSum = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// FuzzParse checks that no lock file panics Parse, that every error is an
// *Error on one line at a position in the file, and that a file Parse
// accepts is written by Bytes in a form that parses back to the same
// entries (names, versions, hashes, kinds), and is written the same again
// and as hclwrite writes it.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.hcl"))
	more, _ := filepath.Glob(filepath.Join("testdata", "errors", "*.hcl"))
	for _, file := range append(files, more...) {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range lockSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		defer fuzzwatch.Start("Parse", src)()
		lf, err := Parse(src, FileName)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %q is a %T, not an *Error", err, err)
			}
			if msg := err.Error(); strings.ContainsAny(msg, "\r\n") || e.File != FileName || !strings.HasPrefix(msg, FileName+":") {
				t.Fatalf("error not one line in %s: %+v: %q", FileName, e, msg)
			}
			if e.Line < 1 || e.Col < 1 {
				t.Fatalf("error without a position: %+v", e)
			}
			return
		}
		if c := lf.Conflicts(); len(c) > 0 {
			t.Fatalf("accepted a file with conflicts: %v", c)
		}
		out := lf.Bytes()
		if ref := hclwriteBytes(lf); !bytes.Equal(out, ref) {
			t.Fatalf("Bytes differs from hclwrite's:\n%s\n---\n%s", out, ref)
		}
		back, err := Parse(out, FileName)
		if err != nil {
			t.Fatalf("Bytes does not parse back: %v\n%s", err, out)
		}
		if got, want := back.Names(), lf.Names(); !reflect.DeepEqual(got, want) {
			t.Fatalf("names %q read back as %q\n%s", want, got, out)
		}
		for _, name := range lf.Names() {
			want, _ := lf.Pin(name)
			got, _ := back.Pin(name)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("plugin %q: %#v read back as %#v\n%s", name, want, got, out)
			}
			for _, k := range want.Kinds {
				if _, _, err := ParseKind(k); err != nil {
					t.Fatalf("plugin %q: accepted kind: %v", name, err)
				}
			}
			for platform, sum := range want.Hashes {
				if !platformPattern.MatchString(platform) {
					t.Fatalf("plugin %q: accepted platform %q", name, platform)
				}
				if _, err := ParseSum(sum); err != nil {
					t.Fatalf("plugin %q: accepted sum: %v", name, err)
				}
			}
		}
		if again := back.Bytes(); !bytes.Equal(again, out) {
			t.Fatalf("Bytes differs once read back:\n%s\n---\n%s", out, again)
		}
	})
}
