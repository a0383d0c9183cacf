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
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"

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
type Error struct {
	Plugin, Kind, Option, Msg string
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
	raw, ok := info.ConfigSchema[u.Kind]
	if !ok {
		if len(u.Options)+len(u.Secret) > 0 {
			return fail(firstKey(u), "the plugin publishes no schema for %s, so it takes no options", u.Kind)
		}
		return nil
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return fail("", "its schema is not JSON: %v", err)
	}
	props := optionProperties(doc, isHandler(u.Kind))
	for _, name := range sortedKeys(u.Options) {
		if writeOnly(props[name]) {
			return fail(name, "is a credential (writeOnly in the plugin's schema): fill it from a secret under credentials: (secrets: {%s: SECRET})", name)
		}
	}
	for _, name := range u.Secret {
		switch p, declared := props[name]; {
		case !declared:
			return fail(name, "the plugin declares no option %s to receive a credential (it takes: %s)", name, credentialOptions(props))
		case !writeOnly(p):
			return fail(name, "the plugin does not mark option %s writeOnly, so it may print it: mmbuild will not hand it a secret", name)
		}
	}
	if u.Partial {
		return checkNames(u, props, fail)
	}
	return validate(withoutRequired(doc, u), u, props, fail)
}

// checkNames refuses plain options the schema does not declare.
func checkNames(u Use, props map[string]any, fail func(string, string, ...any) error) error {
	for _, name := range sortedKeys(u.Options) {
		if _, ok := props[name]; !ok {
			return fail(name, "unknown option (the plugin takes: %s)", knownOptions(props))
		}
	}
	return nil
}

// withoutRequired drops the secret-filled options from the options
// object's required list: they are present, but their values are not
// given to the validator.
func withoutRequired(doc any, u Use) any {
	obj, _ := doc.(map[string]any)
	if isHandler(u.Kind) {
		props, _ := obj["properties"].(map[string]any)
		obj, _ = props["options"].(map[string]any)
	}
	req, _ := obj["required"].([]any)
	if obj == nil || len(req) == 0 || len(u.Secret) == 0 {
		return doc
	}
	kept := []any{}
	for _, r := range req {
		if name, _ := r.(string); !slices.Contains(u.Secret, name) {
			kept = append(kept, r)
		}
	}
	obj["required"] = kept
	return doc
}

// validate runs the schema over the plain options (credential options left
// out: their values are secret, and the plugin checks them).
func validate(doc any, u Use, props map[string]any, fail func(string, string, ...any) error) error {
	c := jsonschema.NewCompiler()
	url := "mem:///" + strings.NewReplacer(":", "/", "+", "-").Replace(u.Kind) + ".json"
	if err := c.AddResource(url, doc); err != nil {
		return fail("", "its schema cannot be used: %v", err)
	}
	sch, err := c.Compile(url)
	if err != nil {
		return fail("", "its schema cannot be used: %v", firstLine(err.Error()))
	}
	opts := map[string]any{}
	for k, v := range u.Options {
		opts[k] = coerce(v, props[k])
	}
	var inst any = opts
	if isHandler(u.Kind) {
		params := make([]any, len(u.Params))
		for i, p := range u.Params {
			params[i] = p
		}
		inst = map[string]any{"params": params, "options": opts}
	}
	err = sch.Validate(inst)
	if err == nil {
		return nil
	}
	ve, ok := err.(*jsonschema.ValidationError)
	if !ok {
		return fail("", "%v", firstLine(err.Error()))
	}
	loc, msg := firstLeaf(ve)
	if extra := unknownOptions(ve); len(extra) > 0 {
		return fail(extra[0], "unknown option (the plugin takes: %s)", knownOptions(props))
	}
	option := ""
	if len(loc) > 0 && (!isHandler(u.Kind) || (loc[0] == "options" && len(loc) > 1)) {
		option = loc[len(loc)-1]
		if isHandler(u.Kind) {
			option = loc[1]
		}
	}
	return fail(option, "%s", msg)
}

// unknownOptions returns the options additionalProperties refused, if that
// is the first problem.
func unknownOptions(ve *jsonschema.ValidationError) []string {
	for len(ve.Causes) > 0 {
		ve = ve.Causes[0]
	}
	if ap, ok := ve.ErrorKind.(*kind.AdditionalProperties); ok {
		return ap.Properties
	}
	return nil
}

func knownOptions(props map[string]any) string {
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

// firstLeaf returns the instance location and message of the deepest first
// cause: the most precise thing to say.
func firstLeaf(ve *jsonschema.ValidationError) ([]string, string) {
	for len(ve.Causes) > 0 {
		ve = ve.Causes[0]
	}
	out := ve.BasicOutput()
	msg := ""
	if out.Error != nil {
		msg = out.Error.String()
	}
	return ve.InstanceLocation, msg
}

func isHandler(kind string) bool { return strings.HasPrefix(kind, "handler:") }

// optionProperties returns the properties of the options object: the
// schema itself for a storage kind, its properties.options for a handler.
func optionProperties(doc any, handler bool) map[string]any {
	obj, _ := doc.(map[string]any)
	if handler {
		props, _ := obj["properties"].(map[string]any)
		obj, _ = props["options"].(map[string]any)
	}
	props, _ := obj["properties"].(map[string]any)
	if props == nil {
		props = map[string]any{}
	}
	return props
}

func writeOnly(prop any) bool {
	p, _ := prop.(map[string]any)
	b, _ := p["writeOnly"].(bool)
	return b
}

// coerce turns an option's string into the type its property asks for,
// when that type is not string and the string parses as it.
func coerce(v string, prop any) any {
	p, _ := prop.(map[string]any)
	var types []string
	switch t := p["type"].(type) {
	case string:
		types = []string{t}
	case []any:
		for _, x := range t {
			if s, ok := x.(string); ok {
				types = append(types, s)
			}
		}
	}
	if len(types) == 0 || slices.Contains(types, "string") {
		return v
	}
	for _, t := range types {
		switch t {
		case "integer", "number":
			if n, err := strconv.ParseFloat(v, 64); err == nil {
				return json.Number(strconv.FormatFloat(n, 'f', -1, 64))
			}
		case "boolean":
			if b, err := strconv.ParseBool(v); err == nil {
				return b
			}
		}
	}
	return v
}

func credentialOptions(props map[string]any) string {
	var names []string
	for k, p := range props {
		if writeOnly(p) {
			names = append(names, k)
		}
	}
	if len(names) == 0 {
		return "no credentials"
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

func firstKey(u Use) string {
	keys := sortedKeys(u.Options)
	keys = append(keys, u.Secret...)
	if len(keys) == 0 {
		return ""
	}
	return keys[0]
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
