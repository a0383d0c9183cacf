// Package pluginset is what the host and a plugin agree on to meet through
// go-plugin: the handshake, the API version and the one component of the
// plugin set. It is internal so that package plugin, which plugin authors
// import, serves through it without exposing go-plugin's types, and package
// host connects through it.
package pluginset

import (
	"context"
	"errors"
	"fmt"

	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
)

// APIVersion is the major version of the wire protocol (proto package
// mmbuild.plugin.v1), negotiated in the handshake.
const APIVersion = 1

// name is the component's name in the plugin set; both sides dispense it.
const name = "mmbuild"

// Handshake is the go-plugin handshake shared by the core and every plugin.
// The magic cookie only stops a user from running a plugin by accident; it is
// not a security measure (the lock file's checksums are).
var Handshake = goplugin.HandshakeConfig{
	ProtocolVersion:  APIVersion,
	MagicCookieKey:   "MMBUILD_PLUGIN",
	MagicCookieValue: "d3b1c0de-mmbuild-plugin-v1",
}

// Component is the one go-plugin component of every binary. In a plugin,
// Register adds the services it serves to the gRPC server; the host leaves
// it nil and dispenses the bare connection, which package host wraps.
type Component struct {
	goplugin.NetRPCUnsupportedPlugin
	Register func(*grpc.Server)
}

var _ goplugin.GRPCPlugin = (*Component)(nil)

// GRPCServer registers the plugin's services.
func (c *Component) GRPCServer(_ *goplugin.GRPCBroker, s *grpc.Server) error {
	if c.Register == nil {
		return errors.New("the host's side of the plugin set serves nothing")
	}
	c.Register(s)
	return nil
}

// GRPCClient returns the connection itself: the host wraps it.
func (c *Component) GRPCClient(_ context.Context, _ *goplugin.GRPCBroker, cc *grpc.ClientConn) (any, error) {
	return cc, nil
}

// Plugins is the plugin set whose one component is c.
func Plugins(c *Component) goplugin.PluginSet {
	return goplugin.PluginSet{name: c}
}

// Versioned is Plugins by API version, as go-plugin's ServeConfig and
// ClientConfig take them.
func Versioned(c *Component) map[int]goplugin.PluginSet {
	return map[int]goplugin.PluginSet{APIVersion: Plugins(c)}
}

// Dispense returns the gRPC connection to the plugin rpc has started.
func Dispense(rpc goplugin.ClientProtocol) (*grpc.ClientConn, error) {
	raw, err := rpc.Dispense(name)
	if err != nil {
		return nil, err
	}
	cc, ok := raw.(*grpc.ClientConn)
	if !ok {
		return nil, fmt.Errorf("unexpected plugin client type %T", raw)
	}
	return cc, nil
}

// Bundle is set by package plugin: it checks the members of a bundle (a
// [][]plugin.Option, passed as any because this package cannot name
// plugin's types) and returns the component that serves them. sdktest
// serves plugins in-process through it, so that package plugin need not
// export its gRPC wiring.
var Bundle func(members any) (*Component, error)
