// Package host connects a host (mmbuild's core, or a plugin's own tests
// through sdktest) to plugins built with this SDK: the go-plugin client
// settings, dispensing a started plugin, and the Conn whose Handler,
// Storage and Cataloger call it over gRPC. Plugin authors serve with
// package plugin and need not import this one.
package host

import (
	"fmt"
	"os/exec"

	goplugin "github.com/hashicorp/go-plugin"

	"github.com/mmbuild/mmbuild/sdk/internal/pluginset"
	"github.com/mmbuild/mmbuild/sdk/internal/wire"
)

// ErrConnection reports that the plugin went away during a call (it crashed
// or was killed). Match it with errors.Is.
var ErrConnection = wire.ErrConnection

// MaxRelayed bounds the text from a plugin that the host relays: an error's
// message, a log line's message and each of its values.
const MaxRelayed = wire.MaxMessage

// CapRelayed cuts text a plugin sent to MaxRelayed bytes, at a character
// boundary, saying how much was left out. Errors from a Conn's calls are
// cut already; a host relaying a plugin's logs cuts them with it.
func CapRelayed(s string) string { return wire.CapMessage(s) }

// ClientConfig returns the go-plugin client settings every host of mmbuild
// plugins shares: the handshake, the API versions and gRPC only. The caller
// adds its own policy (SecureConfig, Logger, Managed, ...).
func ClientConfig(cmd *exec.Cmd) *goplugin.ClientConfig {
	return &goplugin.ClientConfig{
		HandshakeConfig:  pluginset.Handshake,
		VersionedPlugins: pluginset.Versioned(&pluginset.Component{}),
		Cmd:              cmd,
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
	}
}

// Dispense returns the connection to a plugin that rpc has started.
func Dispense(rpc goplugin.ClientProtocol) (*Conn, error) {
	cc, err := pluginset.Dispense(rpc)
	if err != nil {
		return nil, fmt.Errorf("dispensing the plugin: %w", err)
	}
	return newConn(cc), nil
}
