package plugin

import (
	"errors"
	"fmt"
	"slices"

	"github.com/mmbuild/mmbuild/sdk/storage"
)

// interfaceCapabilities pairs a capability with the optional interface
// that serves it: Serve announces the capability for a component that
// implements the interface, and refuses one that announces it without.
var interfaceCapabilities = []struct {
	capability string
	iface      string
	implements func(any) bool
}{
	{storage.CapabilityAttach, "storage.Attacher", func(c any) bool { _, ok := c.(storage.Attacher); return ok }},
	{storage.CapabilityAttached, "storage.AttachedReader", func(c any) bool { _, ok := c.(storage.AttachedReader); return ok }},
	{storage.CapabilityList, "storage.Lister", func(c any) bool { _, ok := c.(storage.Lister); return ok }},
}

// capabilities returns what component announces: its own list
// (Capabler) and the capabilities of the optional interfaces it
// implements. Announcing a capability whose interface it lacks is an
// error: the host would call a method that is not there.
func capabilities(kind string, component any) ([]string, error) {
	var caps []string
	if c, ok := component.(Capabler); ok {
		caps = append(caps, c.Capabilities()...)
	}
	for _, ic := range interfaceCapabilities {
		switch {
		case ic.implements(component):
			caps = append(caps, ic.capability)
		case slices.Contains(caps, ic.capability):
			return nil, fmt.Errorf("%s announces %s but does not implement %s", kind, ic.capability, ic.iface)
		}
	}
	return caps, nil
}

// checkCapabilities refuses a component that announces a capability it
// cannot serve.
func (o *options) checkCapabilities() error {
	var errs []error
	for scheme, s := range o.storages {
		_, err := capabilities(KindStorage+":"+scheme, s)
		errs = append(errs, err)
	}
	for id, h := range o.handlers {
		_, err := capabilities(KindHandler+":"+id, h)
		errs = append(errs, err)
	}
	for id, c := range o.catalogers {
		_, err := capabilities(KindSBOM+":"+id, c)
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
