package lockfile

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode"

	"github.com/hashicorp/hcl/v2/hclsyntax"
	"golang.org/x/text/unicode/norm"
)

// Bytes returns the file's content: the header comment, then one plugin
// block per entry, sorted by name, hashes sorted by platform. Equal Files
// give equal bytes, the bytes hclwrite.Format gives the same blocks.
//
// It is written by hand, not with hclwrite: hclwrite links go-cmp into
// every binary that imports this package (its node.go compares with
// cmp.Equal), and every mmbuild run paid that package's init.
// TestBytesAsHCLWrite holds the two to the same bytes.
func (f *File) Bytes() []byte {
	var b strings.Builder
	b.WriteString(header)
	for i, name := range f.Names() {
		if i > 0 {
			b.WriteByte('\n')
		}
		e := f.entries[name]
		fmt.Fprintf(&b, "plugin %s {\n", quoted(name))
		// hclwrite aligns the = of consecutive one-line attributes
		// (version, kinds); hashes opens lines of its own and is not
		// aligned with them.
		fmt.Fprintf(&b, "  version = %s\n", quoted(e.Version))
		if len(e.Kinds) > 0 {
			kinds := make([]string, len(e.Kinds))
			for i, k := range e.Kinds {
				kinds[i] = quoted(k)
			}
			fmt.Fprintf(&b, "  kinds   = [%s]\n", strings.Join(kinds, ", "))
		}
		platforms := slices.Sorted(maps.Keys(e.Hashes))
		keys := make([]string, len(platforms))
		width := 0
		for i, p := range platforms {
			keys[i] = p
			if !hclsyntax.ValidIdentifier(p) {
				keys[i] = quoted(p)
			}
			width = max(width, len(keys[i]))
		}
		b.WriteString("  hashes = {\n")
		for i, p := range platforms {
			fmt.Fprintf(&b, "    %-*s = %s\n", width, keys[i], quoted(e.Hashes[p]))
		}
		b.WriteString("  }\n}\n")
	}
	return []byte(b.String())
}

// quoted is s as an HCL quoted string literal, as hclwrite writes a cty
// string: in Unicode normal form C (cty.StringVal's), the template
// introducers ${ and %{ doubled, what does not print as \u or \U.
func quoted(s string) string {
	s = norm.NFC.String(s)
	var b strings.Builder
	b.WriteByte('"')
	for i, r := range s {
		switch r {
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '$', '%':
			b.WriteRune(r)
			if strings.HasPrefix(s[i+1:], "{") {
				b.WriteRune(r)
			}
		default:
			switch {
			case unicode.IsPrint(r):
				b.WriteRune(r)
			case r < 0x10000:
				fmt.Fprintf(&b, `\u%04x`, r)
			default:
				fmt.Fprintf(&b, `\U%08x`, r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}
