package config

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/mmbuild/mmbuild/core/build/isolation"
	"github.com/mmbuild/mmbuild/core/evidence/signing"
)

// Parse parses and validates a config read from path. It does not expand
// ${VAR}; call Expand for that. Every problem in data is an *Error.
func Parse(path string, data []byte) (cfg *Config, err error) {
	defer func() {
		// yaml.v3 recovers its own panics; this is the last line of
		// defence for ours, so that no input can crash the caller.
		if r := recover(); r != nil {
			cfg, err = nil, &Error{Pos: Position{File: path}, Msg: fmt.Sprintf("internal error parsing config: %v", r)}
		}
	}()
	root, err := parseYAML(path, data)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	c := &Config{Path: path, SHA256: hex.EncodeToString(sum[:]), handlerKey: "handler", positions: map[string]Position{}}
	d := &decoder{file: path, positions: c.positions}
	if err := d.config(root, c); err != nil {
		return nil, err
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// parseYAML returns the root node of the single document in data.
func parseYAML(path string, data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &Error{Pos: Position{File: path, Line: 1, Col: 1}, Msg: "empty config file"}
		}
		return nil, syntaxError(path, data, err)
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		pos := Position{File: path, Line: next.Line, Col: next.Column}
		if len(next.Content) > 0 {
			pos.Line, pos.Col = next.Content[0].Line, next.Content[0].Column
		}
		return nil, &Error{Pos: pos, Msg: "a second YAML document starts here; a config file holds exactly one"}
	case !errors.Is(err, io.EOF):
		return nil, syntaxError(path, data, err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, &Error{Pos: Position{File: path, Line: 1, Col: 1}, Msg: "empty config file"}
	}
	root := doc.Content[0]
	if isNull(root) {
		return nil, &Error{Pos: Position{File: path, Line: root.Line, Col: root.Column}, Msg: "empty config file"}
	}
	return root, nil
}

var yamlLine = lazyRegexp(`^line (\d+): `) // for errors only

// syntaxError turns a yaml.v3 error ("yaml: line 3: did not find expected
// key") into an *Error. yaml.v3 gives no column, so it is 1; when it gives
// no line either (bad characters), the first bad character is looked for.
func syntaxError(path string, data []byte, err error) *Error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	pos := Position{File: path}
	if m := yamlLine().FindStringSubmatch(msg); m != nil {
		msg = msg[len(m[0]):]
		if n, convErr := strconv.Atoi(m[1]); convErr == nil {
			pos.Line, pos.Col = n, 1
		}
	} else {
		pos.Line, pos.Col = badCharacter(data)
	}
	return &Error{Pos: pos, Msg: "invalid YAML: " + msg}
}

// badCharacter returns the line and column of the first byte YAML refuses
// (invalid UTF-8 or a control character), or 0, 0.
func badCharacter(data []byte) (line, col int) {
	line, col = 1, 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && size <= 1,
			r < 0x20 && r != '\t' && r != '\n' && r != '\r',
			r == 0x7f, r >= 0x80 && r <= 0x9f && r != 0x85,
			r == 0xfffe, r == 0xffff:
			return line, col
		case r == '\n' || (r == '\r' && (i+1 >= len(data) || data[i+1] != '\n')):
			line, col = line+1, 1
		case r == '\r':
			// the '\n' that follows ends the line
		default:
			col++
		}
		i += size
	}
	return 0, 0
}

// decoder walks a YAML tree against the config schema, recording the
// position of every value it reads.
type decoder struct {
	file      string
	positions map[string]Position
}

// fieldFunc decodes the value v of a known key; path is the key's dotted path.
type fieldFunc func(v *yaml.Node, path string) error

func (d *decoder) at(n *yaml.Node) Position {
	return Position{File: d.file, Line: n.Line, Col: n.Column}
}

func (d *decoder) errorf(n *yaml.Node, format string, args ...any) *Error {
	return &Error{Pos: d.at(n), Msg: fmt.Sprintf(format, args...)}
}

// resolve follows an alias to its anchored node.
func resolve(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		return n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	n = resolve(n)
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// kindName describes a node for "expected X, got Y" messages.
func kindName(n *yaml.Node) string {
	n = resolve(n)
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "null"
		case "!!bool":
			return "a bool"
		case "!!int", "!!float":
			return "a number"
		case "!!str":
			return "a string"
		}
		return "a value tagged " + n.ShortTag()
	case yaml.DocumentNode:
		return "a document"
	}
	return "an unresolved alias"
}

// where names a path in a message: "in handler", "at the top level".
func where(path string) string {
	if path == "" {
		return "at the top level"
	}
	return "in " + path
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func indexPath(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

func (d *decoder) wrongType(n *yaml.Node, path, want string) *Error {
	if path == "" {
		return d.errorf(n, "wrong type at the top level: expected %s, got %s", want, kindName(n))
	}
	return d.errorf(n, "wrong type for %s: expected %s, got %s", path, want, kindName(n))
}

// mapping walks the mapping n, calling fields[key] for each key whose value
// is not null. Unknown and duplicate keys are errors. It returns the key
// nodes seen, by name.
func (d *decoder) mapping(n *yaml.Node, path string, fields map[string]fieldFunc) (map[string]*yaml.Node, error) {
	m := resolve(n)
	if m.Kind != yaml.MappingNode {
		return nil, d.wrongType(n, path, "a mapping")
	}
	seen := make(map[string]*yaml.Node, len(m.Content)/2)
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		kr := resolve(k)
		if kr.Kind != yaml.ScalarNode {
			return nil, d.errorf(k, "keys must be strings, got %s as a key %s", kindName(k), where(path))
		}
		if kr.ShortTag() == "!!merge" {
			return nil, d.errorf(k, "merge keys (<<) are not supported %s", where(path))
		}
		name := kr.Value
		f, ok := fields[name]
		if !ok {
			return nil, d.errorf(k, "unknown key %q %s", name, where(path))
		}
		if first, dup := seen[name]; dup {
			return nil, d.errorf(k, "duplicate key %q %s (first at line %d)", name, where(path), first.Line)
		}
		seen[name] = k
		p := joinPath(path, name)
		d.positions[p] = d.at(v)
		if isNull(v) {
			continue
		}
		if err := f(v, p); err != nil {
			return nil, err
		}
	}
	return seen, nil
}

// list walks the list n, calling f for each element.
func (d *decoder) list(n *yaml.Node, path string, f func(elem *yaml.Node, path string) error) error {
	s := resolve(n)
	if s.Kind != yaml.SequenceNode {
		return d.wrongType(n, path, "a list")
	}
	for i, elem := range s.Content {
		p := indexPath(path, i)
		d.positions[p] = d.at(elem)
		if err := f(elem, p); err != nil {
			return err
		}
	}
	return nil
}

// stringTags are the scalar tags read as strings: a number or a bool where
// a string is wanted is kept as written ("1.10" stays "1.10").
var stringTags = map[string]bool{"!!str": true, "!!int": true, "!!float": true, "!!bool": true, "!!timestamp": true}

func (d *decoder) str(n *yaml.Node, path string) (string, error) {
	s := resolve(n)
	if s.Kind != yaml.ScalarNode || !stringTags[s.ShortTag()] {
		return "", d.wrongType(n, path, "a string")
	}
	return s.Value, nil
}

func (d *decoder) strList(n *yaml.Node, path string) ([]string, error) {
	var out []string
	err := d.list(n, path, func(elem *yaml.Node, p string) error {
		s, err := d.str(elem, p)
		out = append(out, s)
		return err
	})
	return out, err
}

func (d *decoder) boolean(n *yaml.Node, path string) (bool, error) {
	s := resolve(n)
	if s.Kind != yaml.ScalarNode {
		return false, d.wrongType(n, path, "true or false")
	}
	if s.ShortTag() != "!!bool" {
		return false, d.errorf(n, "invalid value %q for %s: expected true or false", s.Value, path)
	}
	b, err := strconv.ParseBool(strings.ToLower(s.Value))
	if err != nil {
		return false, d.errorf(n, "invalid value %q for %s: expected true or false", s.Value, path)
	}
	return b, nil
}

// setStr returns a fieldFunc storing a string into dst.
func (d *decoder) setStr(dst *string) fieldFunc {
	return func(v *yaml.Node, path string) (err error) {
		*dst, err = d.str(v, path)
		return err
	}
}

// setStrPtr returns a fieldFunc storing a string into a new *dst.
func (d *decoder) setStrPtr(dst **string) fieldFunc {
	return func(v *yaml.Node, path string) error {
		s, err := d.str(v, path)
		*dst = &s
		return err
	}
}

func (d *decoder) setStrList(dst *[]string) fieldFunc {
	return func(v *yaml.Node, path string) (err error) {
		*dst, err = d.strList(v, path)
		return err
	}
}

func (d *decoder) setBool(dst *bool) fieldFunc {
	return func(v *yaml.Node, path string) (err error) {
		*dst, err = d.boolean(v, path)
		return err
	}
}

// SLSAVersions are the values slsa: takes.
var SLSAVersions = []string{"v0.2", "v1"}

// setSLSA reads slsa:, one of SLSAVersions (a number such as 1 or 0.2 is
// read as its string).
func (d *decoder) setSLSA(dst *string) fieldFunc {
	return func(v *yaml.Node, path string) error {
		s := resolve(v)
		if s.Kind != yaml.ScalarNode {
			return d.wrongType(v, path, "a string")
		}
		val := s.Value
		if !strings.HasPrefix(val, "v") {
			val = "v" + val
		}
		if val == "v1.0" {
			val = "v1"
		}
		for _, ok := range SLSAVersions {
			if val == ok {
				*dst = val
				return nil
			}
		}
		return d.errorf(v, "invalid value %q for %s: expected %s", s.Value, path, strings.Join(SLSAVersions, " or "))
	}
}

func (d *decoder) config(root *yaml.Node, c *Config) error {
	d.positions[""] = d.at(root)
	handler := func(v *yaml.Node, path string) error { return d.handler(v, path, &c.Handler) }
	seen, err := d.mapping(root, "", map[string]fieldFunc{
		"handler":      handler,
		"runner":       handler,
		"source":       func(v *yaml.Node, path string) error { return d.source(v, path, &c.Source) },
		"secrets":      func(v *yaml.Node, path string) error { return d.secrets(v, path, &c.Secrets) },
		"env":          func(v *yaml.Node, path string) error { return d.env(v, path, &c.Env) },
		"replacements": func(v *yaml.Node, path string) error { return d.replacements(v, path, &c.Replacements) },
		"materials":    func(v *yaml.Node, path string) error { return d.materials(v, path, &c.Materials) },
		"artifacts":    func(v *yaml.Node, path string) error { return d.artifacts(v, path, &c.Artifacts) },
		"transfers":    func(v *yaml.Node, path string) error { return d.transfers(v, path, &c.Transfers) },
		"provenance":   d.setStr(&c.Provenance),
		"sbom":         func(v *yaml.Node, path string) error { return d.sbom(v, path, &c.SBOM) },
		"slsa":         d.setSLSA(&c.SLSA),
		"signing":      func(v *yaml.Node, path string) error { return d.signing(v, path, &c.Signing) },
		"credentials":  func(v *yaml.Node, path string) error { return d.credentials(v, path, &c.Credentials) },
		"isolation":    func(v *yaml.Node, path string) error { return d.isolation(v, path, &c.Isolation) },
	})
	if err != nil {
		return err
	}
	h, r := seen["handler"], seen["runner"]
	switch {
	case h != nil && r != nil:
		later := r
		if h.Line > r.Line || (h.Line == r.Line && h.Column > r.Column) {
			later = h
		}
		return d.errorf(later, "both handler and runner are set (runner is the legacy name of handler); keep one")
	case r != nil:
		c.handlerKey = "runner"
	case h == nil:
		return d.errorf(root, "missing required key %q at the top level", "handler")
	}
	c.Handler.Pos = d.positions[c.handlerKey]
	return nil
}

func (d *decoder) handler(v *yaml.Node, path string, h *Handler) error {
	h.Pos = d.at(v)
	_, err := d.mapping(v, path, map[string]fieldFunc{
		"id":      d.setStr(&h.ID),
		"params":  d.setStrList(&h.Params),
		"options": d.setOptions(&h.Options),
	})
	return err
}

func (d *decoder) source(v *yaml.Node, path string, dst **Source) error {
	s := &Source{Pos: d.at(v)}
	*dst = s
	_, err := d.mapping(v, path, map[string]fieldFunc{
		"repo":              d.setStr(&s.Repo),
		"commit":            d.setStr(&s.Commit),
		"ref":               d.setStr(&s.Ref),
		"credentialsSecret": d.setStr(&s.CredentialsSecret),
	})
	return err
}

func (d *decoder) secrets(v *yaml.Node, path string, dst *[]Secret) error {
	return d.list(v, path, func(elem *yaml.Node, p string) error {
		s := Secret{Pos: d.at(elem)}
		_, err := d.mapping(elem, p, map[string]fieldFunc{
			"name":    d.setStr(&s.Name),
			"from":    d.setStr(&s.From),
			"options": d.setOptions(&s.Options),
		})
		*dst = append(*dst, s)
		return err
	})
}

func (d *decoder) env(v *yaml.Node, path string, dst *[]EnvVar) error {
	return d.list(v, path, func(elem *yaml.Node, p string) error {
		e := EnvVar{Pos: d.at(elem)}
		_, err := d.mapping(elem, p, map[string]fieldFunc{
			"var":       d.setStr(&e.Var),
			"value":     d.setStrPtr(&e.Value),
			"valueFrom": func(v *yaml.Node, path string) error { return d.valueFrom(v, path, &e.ValueFrom) },
			"optional":  d.setBool(&e.Optional),
		})
		*dst = append(*dst, e)
		return err
	})
}

func (d *decoder) valueFrom(v *yaml.Node, path string, dst **ValueFrom) error {
	vf := &ValueFrom{Pos: d.at(v)}
	*dst = vf
	_, err := d.mapping(v, path, map[string]fieldFunc{
		"secret": d.setStr(&vf.Secret),
		"env":    d.setStr(&vf.Env),
	})
	return err
}

func (d *decoder) replacements(v *yaml.Node, path string, dst *[]Replacement) error {
	return d.list(v, path, func(elem *yaml.Node, p string) error {
		r := Replacement{Pos: d.at(elem)}
		_, err := d.mapping(elem, p, map[string]fieldFunc{
			"paths":         d.setStrList(&r.Paths),
			"tag":           d.setStr(&r.Tag),
			"value":         d.setStrPtr(&r.Value),
			"valueFrom":     func(v *yaml.Node, path string) error { return d.valueFrom(v, path, &r.ValueFrom) },
			"required":      d.setBool(&r.Required),
			"requiredPaths": d.setBool(&r.RequiredPaths),
		})
		*dst = append(*dst, r)
		return err
	})
}

func (d *decoder) materials(v *yaml.Node, path string, dst *[]Material) error {
	return d.list(v, path, func(elem *yaml.Node, p string) error {
		m := Material{Pos: d.at(elem)}
		_, err := d.mapping(elem, p, map[string]fieldFunc{
			"uri":         d.setStr(&m.URI),
			"digest":      func(v *yaml.Node, path string) error { return d.digest(v, path, &m.Digest) },
			"attestation": d.setStr(&m.Attestation),
			"keys":        d.setStrList(&m.Keys),
			"identities":  func(v *yaml.Node, path string) error { return d.identities(v, path, &m.Identities) },
			"trustedRoot": d.setStr(&m.TrustedRoot),
			"options":     d.setOptions(&m.Options),
			"maxSize":     d.setSize(&m.MaxSize),
		})
		*dst = append(*dst, m)
		return err
	})
}

// identities reads a list of keyless signers (signing.Identity's fields),
// each checked where it is written.
func (d *decoder) identities(v *yaml.Node, path string, dst *[]signing.Identity) error {
	return d.list(v, path, func(elem *yaml.Node, p string) error {
		var id signing.Identity
		if _, err := d.mapping(elem, p, map[string]fieldFunc{
			"issuer":        d.setStr(&id.Issuer),
			"issuerRegexp":  d.setStr(&id.IssuerRegexp),
			"subject":       d.setStr(&id.Subject),
			"subjectRegexp": d.setStr(&id.SubjectRegexp),
			"repository":    d.setStr(&id.Repository),
			"ref":           d.setStr(&id.Ref),
			"workflow":      d.setStr(&id.Workflow),
		}); err != nil {
			return err
		}
		if err := id.Check(); err != nil {
			return d.errorf(elem, "%s: %v", p, err)
		}
		*dst = append(*dst, id)
		return nil
	})
}

// digest reads {algorithm: hex}. Unknown algorithms are refused here, with
// the other checks, so the message can list the accepted ones.
func (d *decoder) digest(v *yaml.Node, path string, dst *Digest) error {
	dg := Digest{}
	*dst = dg
	fields := map[string]fieldFunc{}
	for alg := range digestLengths {
		fields[alg] = func(v *yaml.Node, p string) error {
			s, err := d.str(v, p)
			dg[alg] = s
			return err
		}
	}
	m := resolve(v)
	if m.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(m.Content); i += 2 {
			if k := resolve(m.Content[i]); k.Kind == yaml.ScalarNode && k.ShortTag() != "!!merge" && fields[k.Value] == nil {
				return d.errorf(m.Content[i], "unknown digest algorithm %q %s (want sha1, sha256 or sha512)", k.Value, where(path))
			}
		}
	}
	_, err := d.mapping(v, path, fields)
	return err
}

func (d *decoder) artifacts(v *yaml.Node, path string, a *Artifacts) error {
	a.Pos = d.at(v)
	_, err := d.mapping(v, path, map[string]fieldFunc{
		"destination": d.setStr(&a.Destination),
		"files":       d.setStrList(&a.Files),
		"images":      func(v *yaml.Node, path string) error { return d.images(v, path, a) },
		"options":     d.setOptions(&a.Options),
	})
	return err
}

// images reads artifacts.images: each entry a reference (the builder
// pushes the image) or {ref, layout} (the builder writes an OCI image
// layout folder, which mmbuild pushes to ref).
func (d *decoder) images(v *yaml.Node, path string, a *Artifacts) error {
	return d.list(v, path, func(elem *yaml.Node, p string) error {
		var ref, layout string
		if resolve(elem).Kind == yaml.MappingNode {
			seen, err := d.mapping(elem, p, map[string]fieldFunc{"ref": d.setStr(&ref), "layout": d.setStr(&layout)})
			if err != nil {
				return err
			}
			if seen["ref"] == nil {
				return d.errorf(elem, "%s: missing ref (the image reference the layout is pushed to)", p)
			}
			if seen["layout"] == nil {
				return d.errorf(elem, "%s: missing layout (write the reference alone when the builder pushes the image)", p)
			}
		} else {
			var err error
			if ref, err = d.str(elem, p); err != nil {
				return err
			}
		}
		a.Images = append(a.Images, ref)
		a.ImageLayouts = append(a.ImageLayouts, layout)
		return nil
	})
}

func (d *decoder) transfers(v *yaml.Node, path string, dst *[]Transfer) error {
	return d.list(v, path, func(elem *yaml.Node, p string) error {
		t := Transfer{Pos: d.at(elem)}
		_, err := d.mapping(elem, p, map[string]fieldFunc{
			"source":      d.setStrList(&t.Source),
			"destination": d.setStr(&t.Destination),
			"options":     d.setOptions(&t.Options),
		})
		*dst = append(*dst, t)
		return err
	})
}

// sbom reads sbom: true / false (the original form), or a mapping.
func (d *decoder) sbom(v *yaml.Node, path string, dst **SBOM) error {
	if n := resolve(v); n.Kind == yaml.ScalarNode {
		on, err := d.boolean(v, path)
		if err != nil {
			return err
		}
		if on {
			*dst = &SBOM{Pos: d.at(v)}
		}
		return nil
	}
	s := &SBOM{Pos: d.at(v)}
	*dst = s
	_, err := d.mapping(v, path, map[string]fieldFunc{
		"generator": d.setStr(&s.Generator),
		"formats":   d.setStrList(&s.Formats),
		"options":   d.setOptions(&s.Options),
		"maxEntries": func(v *yaml.Node, path string) error {
			n := resolve(v)
			i, err := strconv.ParseInt(n.Value, 10, 64)
			if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || err != nil || i < 1 {
				return d.errorf(v, "invalid value %q for %s: expected a positive whole number", n.Value, path)
			}
			s.MaxEntries = i
			return nil
		},
	})
	if err != nil {
		return err
	}
	for i, f := range s.Formats {
		switch f {
		case "spdx", "cyclonedx":
		default:
			return d.errorf(v, "invalid value %q for %s.formats[%d]: expected spdx or cyclonedx", f, path, i)
		}
	}
	return nil
}

func (d *decoder) signing(v *yaml.Node, path string, dst **Signing) error {
	s := &Signing{Pos: d.at(v)}
	*dst = s
	_, err := d.mapping(v, path, map[string]fieldFunc{
		"key":           d.setStr(&s.Key),
		"keySecret":     d.setStr(&s.KeySecret),
		"keyless":       d.setBool(&s.Keyless),
		"signingConfig": d.setStr(&s.SigningConfig),
		"trustedRoot":   d.setStr(&s.TrustedRoot),
	})
	return err
}

func (d *decoder) isolation(v *yaml.Node, path string, dst **Isolation) error {
	s := &Isolation{Pos: d.at(v)}
	*dst = s
	checked := func(dst *string, parse func(string) error) fieldFunc {
		return func(v *yaml.Node, path string) error {
			if err := d.setStr(dst)(v, path); err != nil {
				return err
			}
			if err := parse(*dst); err != nil {
				return d.errorf(v, "%s: %v", path, err)
			}
			return nil
		}
	}
	_, err := d.mapping(v, path, map[string]fieldFunc{
		"mode":    checked(&s.Mode, func(m string) error { _, err := isolation.ParseMode(m); return err }),
		"network": checked(&s.Network, func(n string) error { _, err := isolation.ParseNetwork(n); return err }),
		"readOnly": func(v *yaml.Node, path string) error {
			if err := d.setStrList(&s.ReadOnly)(v, path); err != nil {
				return err
			}
			for i, p := range s.ReadOnly {
				if !filepath.IsAbs(p) || filepath.Clean(p) == "/" {
					return d.errorf(v, "%s[%d]: %q: give an absolute folder other than /", path, i, p)
				}
			}
			return nil
		},
	})
	return err
}

func (d *decoder) credentials(v *yaml.Node, path string, dst *[]Credential) error {
	return d.list(v, path, func(elem *yaml.Node, p string) error {
		c := Credential{Pos: d.at(elem)}
		_, err := d.mapping(elem, p, map[string]fieldFunc{
			"url":     d.setStr(&c.URL),
			"secret":  d.setStr(&c.Secret),
			"header":  d.setStr(&c.Header),
			"secrets": func(v *yaml.Node, path string) error { return d.strMap(v, path, &c.Secrets) },
			"options": d.setOptions(&c.Options),
		})
		*dst = append(*dst, c)
		return err
	})
}

// setOptions returns a fieldFunc reading a plugin's options: a mapping of
// names to scalars, kept as written.
func (d *decoder) setOptions(dst *Options) fieldFunc {
	return func(v *yaml.Node, path string) error {
		m := map[string]string{}
		err := d.strMap(v, path, &m)
		*dst = Options(m)
		return err
	}
}

// optionName is what a plugin option may be called.
var optionName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.-]*$`)

// strMap reads a mapping of names to scalars. Keys are free (they are the
// plugin's), but must be names; values may not be lists or mappings.
func (d *decoder) strMap(v *yaml.Node, path string, dst *map[string]string) error {
	m := resolve(v)
	if m.Kind != yaml.MappingNode {
		return d.wrongType(v, path, "a mapping")
	}
	out := map[string]string{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, val := resolve(m.Content[i]), m.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.ShortTag() == "!!merge" || !optionName.MatchString(k.Value) {
			return d.errorf(m.Content[i], "invalid name %q %s (want letters, digits, _ . -)", k.Value, where(path))
		}
		if _, dup := out[k.Value]; dup {
			return d.errorf(m.Content[i], "duplicate key %q %s", k.Value, where(path))
		}
		p := joinPath(path, k.Value)
		d.positions[p] = d.at(val)
		s, err := d.str(val, p)
		if err != nil {
			return err
		}
		out[k.Value] = s
	}
	*dst = out
	return nil
}

// sizeUnits are the suffixes a size may carry, longest first.
var sizeUnits = []struct {
	suffix string
	factor int64
}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"B", 1}}

// setSize reads a size: bytes, or a number with KiB MiB GiB TiB KB MB GB TB.
func (d *decoder) setSize(dst *int64) fieldFunc {
	return func(v *yaml.Node, path string) error {
		s, err := d.str(v, path)
		if err != nil {
			return err
		}
		n, ok := parseSize(s)
		if !ok {
			return d.errorf(v, "invalid size %q for %s: want bytes or a number with KiB, MiB, GiB, KB, MB, GB", s, path)
		}
		*dst = n
		return nil
	}
}

// ParseSize reads a size as the config writes one (maxSize): bytes, or a
// number with KiB MiB GiB TiB KB MB GB TB.
func ParseSize(s string) (int64, bool) { return parseSize(s) }

func parseSize(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	factor := int64(1)
	for _, u := range sizeUnits {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			s, factor = strings.TrimSpace(num), u.factor
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n > (1<<62)/factor {
		return 0, false
	}
	return n * factor, true
}
