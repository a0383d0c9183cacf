package lockfile

import (
	"bytes"
	"testing"

	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
)

// hclwriteBytes is f written with hclwrite, as Bytes wrote it before it was
// written by hand: the reference Bytes must keep matching, so that a lock
// file written by an older mmbuild is not rewritten by a newer one.
func hclwriteBytes(f *File) []byte {
	out := hclwrite.NewEmptyFile()
	body := out.Body()
	for i, name := range f.Names() {
		if i > 0 {
			body.AppendNewline()
		}
		e := f.entries[name]
		b := body.AppendNewBlock("plugin", []string{name}).Body()
		b.SetAttributeValue("version", cty.StringVal(e.Version))
		if len(e.Kinds) > 0 {
			kinds := make([]cty.Value, len(e.Kinds))
			for i, k := range e.Kinds {
				kinds[i] = cty.StringVal(k)
			}
			b.SetAttributeValue("kinds", cty.ListVal(kinds))
		}
		hashes := map[string]cty.Value{}
		for platform, sum := range e.Hashes {
			hashes[platform] = cty.StringVal(sum)
		}
		b.SetAttributeValue("hashes", cty.ObjectVal(hashes))
	}
	var buf bytes.Buffer
	buf.WriteString(header)
	buf.Write(hclwrite.Format(out.Bytes()))
	return buf.Bytes()
}

func TestBytesAsHCLWrite(t *testing.T) {
	const sumA = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	const sumB = "sha256:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
	type pin struct {
		name, version string
		kinds         []string
		hashes        map[string]string
	}
	tests := []struct {
		name string
		pins []pin
	}{
		{"empty", nil},
		{"one plugin", []pin{{"make", "0.1.0", []string{"handler:make"}, map[string]string{"linux_amd64": sumA}}}},
		{"no kinds", []pin{{"old", "0.0.1", nil, map[string]string{"linux_amd64": sumA}}}},
		{"platforms of several widths", []pin{{"git", "1.0", []string{"storage:git+file", "storage:git+https"},
			map[string]string{"linux_amd64": sumA, "darwin_arm64": sumB, "linux_386": sumA, "9front_amd64": sumB}}}},
		{"versions to escape", []pin{
			{"a", "v${x}%{y}\"\\\t\n\r", nil, map[string]string{"linux_amd64": sumA}},
			{"b", "", []string{"storage:s3"}, map[string]string{"linux_amd64": sumA}},
			{"c", "e\u0301 \u212b \U0001F600 \x00\x7f\u200b\U000e0001 \xff $ % ${ %{ $${", nil, map[string]string{"linux_amd64": sumA}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := New()
			for _, p := range tt.pins {
				for platform, sum := range p.hashes {
					if err := f.Set(p.name, p.version, platform, sum); err != nil {
						t.Fatal(err)
					}
				}
				if p.kinds != nil {
					if err := f.SetKinds(p.name, p.kinds); err != nil {
						t.Fatal(err)
					}
				}
			}
			got, want := f.Bytes(), hclwriteBytes(f)
			if !bytes.Equal(got, want) {
				t.Fatalf("Bytes:\n%s\nhclwrite:\n%s", got, want)
			}
			back, err := Parse(got, FileName)
			if err != nil {
				t.Fatalf("Bytes does not parse back: %v\n%s", err, got)
			}
			if again := back.Bytes(); !bytes.Equal(again, got) {
				t.Fatalf("Bytes differs once read back:\n%s\n---\n%s", got, again)
			}
		})
	}
}
