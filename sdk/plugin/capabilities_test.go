package plugin_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/sdk/handler"
	"github.com/mmbuild/mmbuild/sdk/plugin"
	"github.com/mmbuild/mmbuild/sdk/sdktest"
	"github.com/mmbuild/mmbuild/sdk/storage"
)

// announcing is a store that announces what it is given.
type announcing struct {
	errStore
	caps []string
}

func (a announcing) Capabilities() []string { return a.caps }

// announcingAttacher announces what it is given and implements Attacher.
type announcingAttacher struct {
	attachStore
	caps []string
}

func (a *announcingAttacher) Capabilities() []string { return a.caps }

// Serve announces the capabilities of the optional interfaces a component
// implements, beside those it lists, and refuses a component that lists
// one whose interface it lacks.
func TestCapabilitiesFromInterfaces(t *testing.T) {
	for _, tc := range []struct {
		name    string
		store   storage.Storage
		want    []string
		refused string
	}{
		{"listed only", announcing{caps: []string{storage.CapabilityPut}}, []string{storage.CapabilityBatch, storage.CapabilityPut}, ""},
		{"implied by Attacher", &attachStore{}, []string{storage.CapabilityAttach, storage.CapabilityBatch}, ""},
		{"implied by AttachedReader", attachedStore{}, []string{storage.CapabilityAttached, storage.CapabilityBatch}, ""},
		{"listed and implied, once", &announcingAttacher{caps: []string{storage.CapabilityAttach, storage.CapabilityGetDir}},
			[]string{storage.CapabilityAttach, storage.CapabilityBatch, storage.CapabilityGetDir}, ""},
		{"listed without the interface", announcing{caps: []string{storage.CapabilityAttach}}, nil,
			"storage:x announces storage:attach but does not implement storage.Attacher"},
		{"attached without AttachedReader", announcing{caps: []string{storage.CapabilityAttached}}, nil,
			"storage:x announces storage:attached but does not implement storage.AttachedReader"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := []plugin.Option{plugin.WithName("t"), plugin.WithStorage("x", tc.store)}
			if tc.refused != "" {
				if err := plugin.CheckOptions(opts); err == nil || !strings.Contains(err.Error(), tc.refused) {
					t.Fatalf("newOptions: %v, want %q", err, tc.refused)
				}
				return
			}
			info, err := sdktest.Serve(t, opts...).Info(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(info.Capabilities, tc.want) {
				t.Errorf("capabilities %q, want %q", info.Capabilities, tc.want)
			}
		})
	}
}

// The handler constants are what a handler announces and the core reads.
func TestHandlerCapabilities(t *testing.T) {
	h := struct {
		echoHandler
		plugin.Capabler
	}{Capabler: announcing{caps: []string{handler.CapabilityProcessGroup}}}
	info, err := sdktest.Serve(t, plugin.WithName("t"), plugin.WithHandler("echo", h)).Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(info.Capabilities, []string{"handler:process-group"}) {
		t.Errorf("capabilities %q", info.Capabilities)
	}
}
