// Package schema checks one use of a plugin (the handler, a material, a
// destination…) against the JSON Schema the plugin publishes for that kind,
// before anything runs: unknown options, wrong values, credentials handed to
// options the plugin does not mark as secret, secrets written as plain
// options.
//
// The contract (sdk/README.md): a storage kind's schema describes its
// options object; a handler kind's schema describes {params, options}.
// Options travel as strings; a property typed integer, number or boolean
// (and not string) is checked as that type. A property with
// "writeOnly": true takes a credential: it may only be filled from a secret
// (credentials:), and only such properties are.
package schema

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/google/jsonschema-go/jsonschema"

	"github.com/mmbuild/mmbuild/sdk/plugin"
)

// Use is one use of a plugin kind in a config.
type Use struct {
	Kind    string            // "handler:make", "storage:https"
	Params  []string          // a handler's params
	Options map[string]string // plain options, as written
	// Secret names the options filled from secrets (credentials:); their
	// values are never looked at here.
	Secret []string
	// Partial is a use that gives only some options (a credentials: entry
	// checked on its own): option names are checked, not the whole object.
	Partial bool
}

// Error is a problem with one option (Option "" for the use as a whole).
// Credential tells which of a use's two ways to give Option the error is
// about: filled from a secret (Use.Secret) rather than written plainly
// (Use.Options). A config may do both for one name, in different entries,
// and the error must point at the one that is wrong.
type Error struct {
	Plugin, Kind, Option, Msg string
	Credential                bool
}

func (e *Error) Error() string {
	if e.Option == "" {
		return fmt.Sprintf("plugin %s (%s): %s", e.Plugin, e.Kind, e.Msg)
	}
	return fmt.Sprintf("option %s: plugin %s (%s): %s", e.Option, e.Plugin, e.Kind, e.Msg)
}

// Check checks u against info's schema for u.Kind.
func Check(info *plugin.Info, u Use) error {
	fail := func(option, format string, args ...any) error {
		return &Error{Plugin: info.Name, Kind: u.Kind, Option: option, Msg: fmt.Sprintf(format, args...)}
	}
	failSecret := func(option, format string, args ...any) error {
		return &Error{Plugin: info.Name, Kind: u.Kind, Option: option, Msg: fmt.Sprintf(format, args...), Credential: true}
	}
	raw, ok := info.ConfigSchema[u.Kind]
	if !ok {
		if len(u.Options) > 0 {
			return fail(sortedKeys(u.Options)[0], "the plugin publishes no schema for %s, so it takes no options", u.Kind)
		}
		if len(u.Secret) > 0 {
			return failSecret(u.Secret[0], "the plugin publishes no schema for %s, so it takes no options", u.Kind)
		}
		return nil
	}
	root := new(jsonschema.Schema)
	if err := json.Unmarshal(raw, root); err != nil {
		return fail("", "its schema cannot be used: %v", err)
	}
	obj := optionsObject(root, isHandler(u.Kind))
	props := obj.Properties
	for _, name := range sortedKeys(u.Options) {
		if p := props[name]; p != nil && p.WriteOnly {
			return fail(name, "is a credential (writeOnly in the plugin's schema): fill it from a secret under credentials: (secrets: {%s: SECRET})", name)
		}
	}
	for _, name := range u.Secret {
		switch p, declared := props[name]; {
		case !declared:
			return failSecret(name, "the plugin declares no option %s to receive a credential (it takes: %s)", name, credentialOptions(props))
		case p == nil || !p.WriteOnly:
			return failSecret(name, "the plugin does not mark option %s writeOnly, so it may print it: mmbuild will not hand it a secret", name)
		}
	}
	if name, ok := unknownOption(u, obj); ok {
		return fail(name, "unknown option (the plugin takes: %s)", knownOptions(props))
	}
	if u.Partial {
		return nil
	}
	return validate(root, obj, u, fail)
}

// unknownOption returns the first plain option an options object that
// allows no additional properties does not declare (a Partial use is
// checked by names alone, whatever the schema allows).
func unknownOption(u Use, obj *jsonschema.Schema) (string, bool) {
	closed := u.Partial || isFalse(obj.AdditionalProperties)
	if !closed {
		return "", false
	}
	for _, name := range sortedKeys(u.Options) {
		if _, ok := obj.Properties[name]; !ok && !matchesPattern(obj, name) {
			return name, true
		}
	}
	return "", false
}

// validate runs the schema over the plain options (credential options left
// out: their values are secret, and the plugin checks them). Each option is
// checked against its own property first, so the error names it; then the
// whole use, for what spans options (required, dependencies…).
func validate(root, obj *jsonschema.Schema, u Use, fail func(string, string, ...any) error) (err error) {
	defer func() {
		if r := recover(); r != nil { // a schema the validator cannot handle
			err = fail("", "its schema cannot be used: %v", r)
		}
	}()
	if !slices.Contains(drafts, root.Schema) {
		return fail("", "its schema cannot be used: it declares %s; mmbuild checks draft 2020-12 and draft-07", root.Schema)
	}
	opts := map[string]any{}
	for _, name := range sortedKeys(u.Options) {
		prop := obj.Properties[name]
		opts[name] = coerce(u.Options[name], deref(prop, root))
		if prop == nil {
			continue
		}
		if rs, rerr := withDefs(prop, root).Resolve(nil); rerr == nil {
			if verr := rs.Validate(opts[name]); verr != nil {
				return fail(name, "%s", message(verr))
			}
		}
	}
	var inst any = opts
	if isHandler(u.Kind) {
		params := make([]any, len(u.Params))
		for i, p := range u.Params {
			params[i] = p
		}
		inst = map[string]any{"params": params, "options": opts}
	}
	rs, err := withoutRequired(root, obj, u).Resolve(nil)
	if err != nil {
		return fail("", "its schema cannot be used: %s", message(err))
	}
	if err := rs.Validate(inst); err != nil {
		return fail("", "%s", message(err))
	}
	return nil
}

// drafts are the $schema values the validator takes ("" is 2020-12).
var drafts = []string{"", "https://json-schema.org/draft/2020-12/schema", "http://json-schema.org/draft-07/schema", "http://json-schema.org/draft-07/schema#"}

// deref follows prop's local "#/$defs/…" (or "#/definitions/…") references
// in root, a few deep, to find the type an option is coerced to.
func deref(prop, root *jsonschema.Schema) *jsonschema.Schema {
	for range 8 {
		if prop == nil || prop.Ref == "" {
			return prop
		}
		name, defs := strings.CutPrefix(prop.Ref, "#/$defs/")
		table := root.Defs
		if !defs {
			name, defs = strings.CutPrefix(prop.Ref, "#/definitions/")
			table = root.Definitions
		}
		if !defs {
			return prop
		}
		prop = table[name]
	}
	return prop
}

// withDefs is prop as a schema of its own, with root's draft and
// definitions, so that a "#/$defs/…" reference still resolves.
func withDefs(prop, root *jsonschema.Schema) *jsonschema.Schema {
	s := prop.CloneSchemas()
	if s.Schema == "" {
		s.Schema = root.Schema
	}
	if s.Defs == nil && s.Definitions == nil {
		s.Defs, s.Definitions = root.Defs, root.Definitions
	}
	return s
}

// withoutRequired is root with the secret-filled options dropped from the
// options object's required list: they are present, but their values are
// not given to the validator.
func withoutRequired(root, obj *jsonschema.Schema, u Use) *jsonschema.Schema {
	if len(obj.Required) == 0 || len(u.Secret) == 0 {
		return root
	}
	root = root.CloneSchemas()
	obj = optionsObject(root, isHandler(u.Kind))
	obj.Required = slices.DeleteFunc(obj.Required, func(name string) bool { return slices.Contains(u.Secret, name) })
	return root
}

// message is the validator's error without its "validating root: "
// prefixes, on one line.
func message(err error) string {
	msg := firstLine(err.Error())
	for {
		rest, ok := strings.CutPrefix(msg, "validating root: ")
		if !ok {
			return msg
		}
		msg = rest
	}
}

// isFalse reports whether s is the schema false, which the validator
// represents as {"not": {}}.
func isFalse(s *jsonschema.Schema) bool {
	if s == nil || s.Not == nil || !reflect.ValueOf(*s.Not).IsZero() {
		return false
	}
	c := *s
	c.Not = nil
	return reflect.ValueOf(c).IsZero()
}

func matchesPattern(obj *jsonschema.Schema, name string) bool {
	for pat := range obj.PatternProperties {
		if re, err := regexp.Compile(pat); err == nil && re.MatchString(name) {
			return true
		}
	}
	return false
}

func knownOptions(props map[string]*jsonschema.Schema) string {
	if len(props) == 0 {
		return "no options"
	}
	names := make([]string, 0, len(props))
	for k := range props {
		names = append(names, k)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

func isHandler(kind string) bool { return strings.HasPrefix(kind, "handler:") }

// optionsObject returns the schema of the options object: the schema
// itself for a storage kind, its properties.options for a handler (an empty
// schema when there is none).
func optionsObject(root *jsonschema.Schema, handler bool) *jsonschema.Schema {
	obj := root
	if handler {
		obj = root.Properties["options"]
	}
	if obj == nil {
		return &jsonschema.Schema{}
	}
	return obj
}

// coerce turns an option's string into the type its property asks for,
// when that type is not string and the string parses as it.
func coerce(v string, prop *jsonschema.Schema) any {
	if prop == nil {
		return v
	}
	types := prop.Types
	if prop.Type != "" {
		types = []string{prop.Type}
	}
	if len(types) == 0 || slices.Contains(types, "string") {
		return v
	}
	for _, t := range types {
		switch t {
		case "integer", "number":
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				return n
			}
			if n, err := strconv.ParseFloat(v, 64); err == nil {
				return n
			}
		case "boolean":
			if b, err := strconv.ParseBool(v); err == nil {
				return b
			}
		}
	}
	return v
}

func credentialOptions(props map[string]*jsonschema.Schema) string {
	var names []string
	for k, p := range props {
		if p != nil && p.WriteOnly {
			names = append(names, k)
		}
	}
	if len(names) == 0 {
		return "no credentials"
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}
