package lockfile

import (
	"fmt"
	"slices"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

var (
	rootSchema = &hcl.BodySchema{
		Blocks: []hcl.BlockHeaderSchema{{Type: "plugin", LabelNames: []string{"name"}}},
	}
	pluginSchema = &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{
			{Name: "version", Required: true},
			{Name: "hashes", Required: true},
			{Name: "kinds"},
		},
	}
)

// maxDepth bounds how deep a lock file nests brackets, braces, parentheses,
// quotes, templates and unary operators. A lock file needs four levels; the
// HCL parser recurses once a level, and 100,000 of them overflow the stack.
const maxDepth = 32

// checkDepth refuses, before the parser sees them, tokens nested deeper
// than maxDepth. The scanner runs without recursion.
func checkDepth(src []byte, filename string) error {
	tokens, diags := hclsyntax.LexConfig(src, filename, hcl.InitialPos)
	if err := firstError(diags, filename); err != nil {
		return err
	}
	depth, unary := 0, 0
	for _, tok := range tokens {
		switch tok.Type {
		case hclsyntax.TokenOBrace, hclsyntax.TokenOBrack, hclsyntax.TokenOParen, hclsyntax.TokenOQuote,
			hclsyntax.TokenOHeredoc, hclsyntax.TokenTemplateInterp, hclsyntax.TokenTemplateControl:
			depth++
		case hclsyntax.TokenCBrace, hclsyntax.TokenCBrack, hclsyntax.TokenCParen, hclsyntax.TokenCQuote,
			hclsyntax.TokenCHeredoc, hclsyntax.TokenTemplateSeqEnd:
			depth = max(depth-1, 0)
		}
		if tok.Type == hclsyntax.TokenBang || tok.Type == hclsyntax.TokenMinus {
			unary++
		} else {
			unary = 0
		}
		if depth+unary > maxDepth {
			return errorAt(filename, tok.Range, fmt.Sprintf("nested more than %d levels deep: this is not a lock file mmbuild writes", maxDepth))
		}
	}
	return nil
}

// Parse reads a lock file's content; filename is used in error positions.
func Parse(src []byte, filename string) (*File, error) {
	if err := checkDepth(src, filename); err != nil {
		return nil, err
	}
	file, diags := hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
	if err := firstError(diags, filename); err != nil {
		return nil, err
	}
	content, diags := file.Body.Content(rootSchema)
	if err := firstError(diags, filename); err != nil {
		return nil, err
	}
	f := New()
	claimedBy := map[string]string{} // kind → the plugin that recorded it first
	for _, block := range content.Blocks {
		e, kindRanges, err := parsePlugin(block, filename)
		if err != nil {
			return nil, err
		}
		if _, dup := f.entries[e.Name]; dup {
			return nil, errorAt(filename, block.LabelRanges[0], fmt.Sprintf("plugin %q is pinned twice", e.Name))
		}
		for _, k := range e.Kinds {
			if other, ok := claimedBy[k]; ok {
				return nil, errorAt(filename, kindRanges[k], fmt.Sprintf("plugin %q: kind %s is recorded by plugin %q too (one plugin serves a kind: remove one of them and run `mmbuild plugins lock`)", e.Name, k, other))
			}
			claimedBy[k] = e.Name
		}
		f.entries[e.Name] = e
	}
	return f, nil
}

// parsePlugin reads one plugin block; kindRanges says where each kind is.
func parsePlugin(block *hcl.Block, filename string) (e *Entry, kindRanges map[string]hcl.Range, err error) {
	name := block.Labels[0]
	if !namePattern.MatchString(name) {
		return nil, nil, errorAt(filename, block.LabelRanges[0], fmt.Sprintf("invalid plugin name %q (want [a-z][a-z0-9+.-]*)", name))
	}
	content, diags := block.Body.Content(pluginSchema)
	if err := firstError(diags, filename); err != nil {
		return nil, nil, err
	}
	if e, err = parsePin(name, content, filename); err != nil {
		return nil, nil, err
	}
	if attr, ok := content.Attributes["kinds"]; ok {
		if e.Kinds, kindRanges, err = parseKinds(attr, e.Name, filename); err != nil {
			return nil, nil, err
		}
	}
	return e, kindRanges, nil
}

// parseKinds reads a kinds attribute: a non-empty list of distinct kinds.
func parseKinds(attr *hcl.Attribute, name, filename string) ([]string, map[string]hcl.Range, error) {
	exprs, diags := hcl.ExprList(attr.Expr)
	if diags.HasErrors() {
		return nil, nil, errorAt(filename, attr.Expr.Range(), fmt.Sprintf("plugin %q: kinds must be a list such as [\"storage:https\"]", name))
	}
	if len(exprs) == 0 {
		return nil, nil, errorAt(filename, attr.Expr.Range(), fmt.Sprintf("plugin %q: kinds is empty (leave it out when it is not known)", name))
	}
	ranges := map[string]hcl.Range{}
	kinds := make([]string, 0, len(exprs))
	for i, expr := range exprs {
		v, diags := expr.Value(nil)
		if err := firstError(diags, filename); err != nil {
			return nil, nil, err
		}
		if v.IsNull() || v.Type() != cty.String {
			return nil, nil, errorAt(filename, expr.Range(), fmt.Sprintf("plugin %q: kinds[%d] must be a string", name, i))
		}
		k := v.AsString()
		if _, _, err := ParseKind(k); err != nil {
			return nil, nil, errorAt(filename, expr.Range(), fmt.Sprintf("plugin %q: kinds[%d]: %v", name, i, err))
		}
		if _, dup := ranges[k]; dup {
			return nil, nil, errorAt(filename, expr.Range(), fmt.Sprintf("plugin %q: kind %s is listed twice", name, k))
		}
		ranges[k] = expr.Range()
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	return kinds, ranges, nil
}

// parsePin reads a plugin block's version and hashes.
func parsePin(name string, content *hcl.BodyContent, filename string) (*Entry, error) {
	e := &Entry{Name: name, Hashes: map[string]string{}}

	attr := content.Attributes["version"]
	v, diags := attr.Expr.Value(nil)
	if err := firstError(diags, filename); err != nil {
		return nil, err
	}
	if v.IsNull() || v.Type() != cty.String {
		return nil, errorAt(filename, attr.Expr.Range(), fmt.Sprintf("plugin %q: version must be a string", name))
	}
	e.Version = v.AsString()

	attr = content.Attributes["hashes"]
	pairs, diags := hcl.ExprMap(attr.Expr)
	if diags.HasErrors() {
		return nil, errorAt(filename, attr.Expr.Range(), fmt.Sprintf("plugin %q: hashes must be an object such as { linux_amd64 = \"sha256:…\" }", name))
	}
	if len(pairs) == 0 {
		return nil, errorAt(filename, attr.Expr.Range(), fmt.Sprintf("plugin %q: hashes is empty", name))
	}
	for _, kv := range pairs {
		k, diags := kv.Key.Value(nil)
		if err := firstError(diags, filename); err != nil {
			return nil, err
		}
		if k.IsNull() || k.Type() != cty.String {
			return nil, errorAt(filename, kv.Key.Range(), fmt.Sprintf("plugin %q: a hashes key must be a platform name", name))
		}
		platform := k.AsString()
		if !platformPattern.MatchString(platform) {
			return nil, errorAt(filename, kv.Key.Range(), fmt.Sprintf("plugin %q: invalid platform %q (want GOOS_GOARCH, e.g. linux_amd64)", name, platform))
		}
		if _, dup := e.Hashes[platform]; dup {
			return nil, errorAt(filename, kv.Key.Range(), fmt.Sprintf("plugin %q: platform %s is pinned twice", name, platform))
		}
		s, diags := kv.Value.Value(nil)
		if err := firstError(diags, filename); err != nil {
			return nil, err
		}
		if s.IsNull() || s.Type() != cty.String {
			return nil, errorAt(filename, kv.Value.Range(), fmt.Sprintf("plugin %q: hashes.%s must be a string", name, platform))
		}
		if _, err := ParseSum(s.AsString()); err != nil {
			return nil, errorAt(filename, kv.Value.Range(), fmt.Sprintf("plugin %q: hashes.%s: %v", name, platform, err))
		}
		e.Hashes[platform] = s.AsString()
	}
	return e, nil
}

// firstError turns the first error of diags into an *Error; hcl's own
// diagnostics already name the problem precisely.
func firstError(diags hcl.Diagnostics, filename string) error {
	for _, d := range diags {
		if d.Severity != hcl.DiagError {
			continue
		}
		msg := d.Summary
		if d.Detail != "" {
			msg += ": " + d.Detail
		}
		if d.Subject == nil {
			return &Error{File: filename, Line: 1, Col: 1, Msg: msg}
		}
		return errorAt(filename, *d.Subject, msg)
	}
	return nil
}

func errorAt(filename string, r hcl.Range, msg string) *Error {
	return &Error{File: filename, Line: r.Start.Line, Col: r.Start.Column, Msg: msg}
}
