// Package storeindex is the index a run publishes beside its attestation,
// so that a later run checks a cache hit of many objects in a few requests.
//
// For each object the run published and the store vouched for (its Stat
// gave the object's SHA-256, storage.CapabilityContentDigest), the index
// records the version the store gave in that same answer
// (storage.StatResponse.Version: for S3, the ETag and the modification
// time). A later cache lookup lists each folder a page at a time
// (storage.Lister: 1,000 objects a request on S3) and takes an object
// whose listed version and size are the recorded ones, and whose recorded
// digest is the one the attestation wants, as checked: writing an object
// again gives it another version, so it is the object the store vouched
// for. Every other object is asked about again, one at a time, as without
// an index.
//
// The index only saves requests. It is as trusted as the attestation the
// cache reads beside it (neither is signed): a missing, unreadable or stale
// index costs time, never a wrong hit, because each of its claims is also
// checked against the listing and against the attestation.
package storeindex

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
)

// Name is the index's file name beside the attestation, in mmbuild's
// provenance.* names, which no artifact may take.
const Name = "provenance.index.json"

// Type is the index's _type.
const Type = "https://mmbuild.dev/store-index/v1"

// MaxSize bounds the index a lookup reads: a destination is untrusted. It
// holds about 200,000 objects.
const MaxSize = 32 << 20

// Index is what a run published, as the store described it.
type Index struct {
	Type    string   `json:"_type"`
	Objects []Object `json:"objects"`
}

// Object is one published object.
type Object struct {
	// At is the config path of the use whose folder holds the object:
	// "artifacts.destination", "transfers[0].destination". The index names
	// no URL: URLs may carry what the destination must not show.
	At   string `json:"at"`
	Name string `json:"name"`
	Size int64  `json:"size"`
	// Version is the store's (storage.StatResponse.Version) from the
	// answer that vouched for SHA256.
	Version string `json:"version"`
	// SHA256 is the digest the store vouched for, in hex.
	SHA256 string `json:"sha256"`
}

// key is an object's place: its use and its name.
type key struct{ at, name string }

var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

// Encode returns the index as published.
func Encode(ix *Index) ([]byte, error) {
	ix.Type = Type
	if err := ix.check(); err != nil {
		return nil, err
	}
	return json.Marshal(ix)
}

// Read reads and checks the index at path, within MaxSize.
func Read(path string) (*Index, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading the store index: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading the store index: %w", err)
	}
	if len(data) > MaxSize {
		return nil, fmt.Errorf("the store index is larger than %d bytes", MaxSize)
	}
	return Decode(data)
}

// Decode parses and checks an index: its type, and each object's fields.
func Decode(data []byte) (*Index, error) {
	var ix Index
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ix); err != nil {
		return nil, fmt.Errorf("parsing the store index: %w", err)
	}
	if ix.Type != Type {
		return nil, fmt.Errorf("the store index has _type %q, want %q", ix.Type, Type)
	}
	if err := ix.check(); err != nil {
		return nil, err
	}
	return &ix, nil
}

func (ix *Index) check() error {
	seen := make(map[key]bool, len(ix.Objects))
	for i, o := range ix.Objects {
		switch {
		case o.At == "" || o.Name == "" || o.Version == "":
			return fmt.Errorf("the store index's objects[%d] lacks its use, name or version", i)
		case o.Size < 0:
			return fmt.Errorf("the store index's objects[%d] has a negative size", i)
		case !sha256Hex.MatchString(o.SHA256):
			return fmt.Errorf("the store index's objects[%d] has no SHA-256 in lowercase hex", i)
		case seen[key{o.At, o.Name}]:
			return fmt.Errorf("the store index names %s %s twice", o.At, o.Name)
		}
		seen[key{o.At, o.Name}] = true
	}
	return nil
}
