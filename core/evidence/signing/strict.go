package signing

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxDepth bounds the nesting of objects and arrays in untrusted JSON.
const maxDepth = 128

// UnmarshalStrict decodes exactly one JSON value into v, refusing what a
// lenient decoder lets through and another parser might read differently:
// invalid UTF-8, duplicate object keys (also those equal under the case
// folding encoding/json applies to field names), unknown struct fields,
// keys that name a field in another case ("_TYPE" for "_type"), nesting
// deeper than 128, and anything after the value.
func UnmarshalStrict(data []byte, v any) error {
	if err := checkJSON(data); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	t := reflect.TypeOf(v)
	if !hasStruct(t, map[reflect.Type]bool{}) {
		return nil
	}
	var generic any
	dec = json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&generic); err != nil {
		return err
	}
	return exactKeys(generic, t)
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// hasStruct reports whether decoding into t goes through a struct whose
// keys encoding/json matches case-insensitively.
func hasStruct(t reflect.Type, seen map[reflect.Type]bool) bool {
	if seen[t] {
		return false
	}
	seen[t] = true
	if reflect.PointerTo(t).Implements(unmarshalerType) && t.Kind() != reflect.Pointer {
		return false
	}
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map:
		return hasStruct(t.Elem(), seen)
	case reflect.Struct:
		return true
	}
	return false
}

// exactKeys checks that every key of every JSON object decoded into a
// struct names one of its fields exactly.
func exactKeys(v any, t reflect.Type) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		return nil // decodes itself
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		arr, _ := v.([]any)
		for _, e := range arr {
			if err := exactKeys(e, t.Elem()); err != nil {
				return err
			}
		}
	case reflect.Map:
		obj, _ := v.(map[string]any)
		for _, e := range obj {
			if err := exactKeys(e, t.Elem()); err != nil {
				return err
			}
		}
	case reflect.Struct:
		obj, _ := v.(map[string]any)
		fields := jsonFields(t)
		for k, e := range obj {
			ft, ok := fields[k]
			if !ok {
				return fmt.Errorf("json: key %q does not name a field exactly (keys are case-sensitive)", k)
			}
			if err := exactKeys(e, ft); err != nil {
				return err
			}
		}
	}
	return nil
}

// jsonFields maps the JSON names of a struct's fields (embedded structs
// flattened) to their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		ft := f.Type
		if f.Anonymous && name == "" {
			et := ft
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				for k, v := range jsonFields(et) {
					if _, dup := out[k]; !dup {
						out[k] = v
					}
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = ft
	}
	return out
}

// oneValue returns the length of the JSON value at the start of data.
func oneValue(data []byte) (int, bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return 0, false
	}
	return int(dec.InputOffset()), true
}

type jsonFrame struct {
	object    bool
	expectKey bool
	keys      map[string]bool
}

// checkJSON checks that data is one well-formed JSON value in valid UTF-8
// without duplicate keys and nested at most maxDepth deep.
// Long on purpose: one token loop, one flat switch on the kind, the frame stack local to both.
func checkJSON(data []byte) error {
	if !utf8.Valid(data) {
		return errors.New("invalid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var stack []*jsonFrame
	done := false
	valueDone := func() {
		if len(stack) == 0 {
			done = true
			return
		}
		if top := stack[len(stack)-1]; top.object {
			top.expectKey = true
		}
	}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if done {
			return errors.New("unexpected data after the JSON value")
		}
		var top *jsonFrame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				if len(stack) == maxDepth {
					return fmt.Errorf("JSON nested deeper than %d", maxDepth)
				}
				if top != nil && top.object {
					top.expectKey = false
				}
				f := &jsonFrame{object: t == '{', expectKey: t == '{'}
				if f.object {
					f.keys = map[string]bool{}
				}
				stack = append(stack, f)
			default: // '}' or ']'
				stack = stack[:len(stack)-1]
				valueDone()
			}
		default:
			if top != nil && top.object && top.expectKey {
				k, _ := t.(string)
				folded := foldKey(k)
				if top.keys[folded] {
					return fmt.Errorf("duplicate key %q", k)
				}
				top.keys[folded] = true
				top.expectKey = false
				continue
			}
			valueDone()
		}
	}
	if !done {
		return io.ErrUnexpectedEOF
	}
	return nil
}

// foldKey folds a key the way encoding/json matches field names, so that
// keys it would treat as the same field collide.
func foldKey(s string) string {
	var b []byte
	for _, r := range s {
		if r < utf8.RuneSelf {
			if 'a' <= r && r <= 'z' {
				r -= 'a' - 'A'
			}
			b = append(b, byte(r))
			continue
		}
		b = utf8.AppendRune(b, foldRune(r))
	}
	return string(b)
}

// foldRune returns the smallest rune of r's case-folding orbit, as
// encoding/json does.
func foldRune(r rune) rune {
	for {
		r2 := unicode.SimpleFold(r)
		if r2 <= r {
			return r2
		}
		r = r2
	}
}
