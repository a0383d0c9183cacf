// Package plugin serves handler, storage and cataloger implementations as an mmbuild
// plugin binary. A plugin's main is one call:
//
//	func main() {
//		plugin.Serve(
//			plugin.WithName("file"),
//			plugin.WithStorage("file", myStore{}),
//		)
//	}
//
// The host's side (connecting to a plugin) is package host; a plugin's own
// tests reach it through sdktest.
package plugin

import (
	"encoding/json"
	"fmt"
	"regexp"
	"runtime/debug"
	"sort"

	"github.com/mmbuild/mmbuild/sdk/handler"
	"github.com/mmbuild/mmbuild/sdk/internal/pluginset"
	"github.com/mmbuild/mmbuild/sdk/sbom"
	"github.com/mmbuild/mmbuild/sdk/storage"
)

const (
	// APIVersion is the major version of the wire protocol
	// (proto package mmbuild.plugin.v1), negotiated in the handshake.
	APIVersion = pluginset.APIVersion
	// SDKVersion is the version of this SDK, reported by every plugin built
	// with it.
	SDKVersion = "0.1.0"
	// BinaryPrefix starts the file name of every plugin executable.
	BinaryPrefix = "mmbuild-plugin-"
)

// Kind prefixes.
const (
	KindHandler = "handler"
	KindStorage = "storage"
	// KindSBOM is a cataloger: it says what is inside an artifact, for the
	// SBOM the core assembles ("sbom:syft").
	KindSBOM = "sbom"
)

// Info describes a plugin binary. The host reads it with the Info RPC, and a
// person or an auditor with `PLUGIN describe`, which prints it as JSON.
type Info struct {
	Name         string                     `json:"name"`
	Version      string                     `json:"version"`
	SDKVersion   string                     `json:"sdk_version"`
	APIVersion   int                        `json:"api_version"`
	Kinds        []string                   `json:"kinds"`
	Capabilities []string                   `json:"capabilities,omitempty"`
	ConfigSchema map[string]json.RawMessage `json:"config_schema,omitempty"`
}

// HasKind reports whether the plugin serves kind ("handler:make").
func (i *Info) HasKind(kind string) bool {
	for _, k := range i.Kinds {
		if k == kind {
			return true
		}
	}
	return false
}

// Capabler is implemented by a component that announces optional abilities
// (for example "storage:put", "handler:process-group").
type Capabler interface {
	Capabilities() []string
}

// Schemer is implemented by a component that publishes a JSON Schema for its
// options.
type Schemer interface {
	ConfigSchema() json.RawMessage
}

type options struct {
	name       string
	version    string
	handlers   map[string]handler.Handler
	storages   map[string]storage.Storage
	catalogers map[string]sbom.Cataloger
}

// Option configures Serve.
type Option func(*options) error

var idPattern = regexp.MustCompile(`^[a-z][a-z0-9+.-]*$`)

// WithName sets the plugin's name, the part after "mmbuild-plugin-" in its
// file name. Required.
func WithName(name string) Option {
	return func(o *options) error {
		if !idPattern.MatchString(name) {
			return fmt.Errorf("invalid plugin name %q", name)
		}
		o.name = name
		return nil
	}
}

// WithVersion sets the version the plugin reports. Default: the main
// module's version from the binary's build info, or "devel".
func WithVersion(v string) Option {
	return func(o *options) error { o.version = v; return nil }
}

// WithHandler serves h for handler.id == id. A binary may hold several.
func WithHandler(id string, h handler.Handler) Option {
	return func(o *options) error {
		if !idPattern.MatchString(id) {
			return fmt.Errorf("invalid handler id %q", id)
		}
		if h == nil {
			return fmt.Errorf("handler %q is nil", id)
		}
		if _, dup := o.handlers[id]; dup {
			return fmt.Errorf("handler %q registered twice", id)
		}
		o.handlers[id] = h
		return nil
	}
}

// WithStorage serves s for URLs of the given scheme ("s3", "file"). A
// binary may hold several.
func WithStorage(scheme string, s storage.Storage) Option {
	return func(o *options) error {
		if !idPattern.MatchString(scheme) {
			return fmt.Errorf("invalid storage scheme %q", scheme)
		}
		if s == nil {
			return fmt.Errorf("storage %q is nil", scheme)
		}
		if _, dup := o.storages[scheme]; dup {
			return fmt.Errorf("storage %q registered twice", scheme)
		}
		o.storages[scheme] = s
		return nil
	}
}

// WithCataloger serves c for sbom.generator == id (kind "sbom:<id>"). A
// binary may hold several.
func WithCataloger(id string, c sbom.Cataloger) Option {
	return func(o *options) error {
		if !idPattern.MatchString(id) {
			return fmt.Errorf("invalid cataloger id %q", id)
		}
		if c == nil {
			return fmt.Errorf("cataloger %q is nil", id)
		}
		if _, dup := o.catalogers[id]; dup {
			return fmt.Errorf("cataloger %q registered twice", id)
		}
		o.catalogers[id] = c
		return nil
	}
}

func newOptions(opts []Option) (*options, error) {
	o := &options{handlers: map[string]handler.Handler{}, storages: map[string]storage.Storage{}, catalogers: map[string]sbom.Cataloger{}}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	if o.name == "" {
		return nil, fmt.Errorf("plugin name not set (use plugin.WithName)")
	}
	if len(o.handlers)+len(o.storages)+len(o.catalogers) == 0 {
		return nil, fmt.Errorf("plugin %q serves nothing (use plugin.WithHandler, plugin.WithStorage or plugin.WithCataloger)", o.name)
	}
	if err := o.checkCapabilities(); err != nil {
		return nil, err
	}
	if o.version == "" {
		o.version = "devel"
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			o.version = bi.Main.Version
		}
	}
	return o, nil
}

func (o *options) info() *Info {
	info := &Info{
		Name:       o.name,
		Version:    o.version,
		SDKVersion: SDKVersion,
		APIVersion: APIVersion,
	}
	add := func(kind string, component any) {
		info.Kinds = append(info.Kinds, kind)
		caps, _ := capabilities(kind, component) // checked by newOptions
		info.Capabilities = append(info.Capabilities, caps...)
		if s, ok := component.(Schemer); ok {
			if info.ConfigSchema == nil {
				info.ConfigSchema = map[string]json.RawMessage{}
			}
			info.ConfigSchema[kind] = s.ConfigSchema()
		}
	}
	for id, h := range o.handlers {
		add(KindHandler+":"+id, h)
	}
	for scheme, s := range o.storages {
		add(KindStorage+":"+scheme, s)
		// The SDK serves batches for every storage component.
		info.Capabilities = append(info.Capabilities, storage.CapabilityBatch)
	}
	for id, c := range o.catalogers {
		add(KindSBOM+":"+id, c)
	}
	sort.Strings(info.Kinds)
	sort.Strings(info.Capabilities)
	info.Capabilities = compact(info.Capabilities)
	return info
}

func compact(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}
