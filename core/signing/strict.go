package signing

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode"
	"unicode/utf8"
)

// maxDepth bounds the nesting of objects and arrays in untrusted JSON.
const maxDepth = 128

// UnmarshalStrict decodes exactly one JSON value into v, refusing what a
// lenient decoder lets through and another parser might read differently:
// invalid UTF-8, duplicate object keys (also those equal under the case
// folding encoding/json applies to field names), unknown struct fields,
// nesting deeper than 128, and anything after the value.
func UnmarshalStrict(data []byte, v any) error {
	if err := checkJSON(data); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
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
