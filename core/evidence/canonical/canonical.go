// Package canonical turns the in-toto library's protobuf messages into the
// stable JSON mmbuild publishes. protojson deliberately varies its spacing
// between builds; a statement must be a function of its inputs.
package canonical

import (
	"bytes"
	"encoding/json"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
)

// JSON re-encodes JSON with sorted keys, a two-space indent and a final
// newline; numbers keep their text.
func JSON(data []byte) ([]byte, error) {
	var v any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Message is the canonical JSON of a protobuf message.
func Message(m proto.Message) ([]byte, error) {
	data, err := protojson.Marshal(m)
	if err != nil {
		return nil, err
	}
	return JSON(data)
}

// Struct converts a message to a protobuf Struct (a statement's predicate).
func Struct(m proto.Message) (*structpb.Struct, error) {
	data, err := protojson.Marshal(m)
	if err != nil {
		return nil, err
	}
	return structOf(data)
}

// StructOf converts a Go value to a Struct through its JSON.
func StructOf(v any) (*structpb.Struct, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return structOf(data)
}

func structOf(data []byte) (*structpb.Struct, error) {
	s := &structpb.Struct{}
	if err := protojson.Unmarshal(data, s); err != nil {
		return nil, err
	}
	return s, nil
}
