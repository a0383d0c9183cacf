package pluginhost

import (
	"github.com/hashicorp/go-hclog"

	"github.com/mmbuild/mmbuild/sdk/host"
)

// relayLogger is the logger a plugin's log lines are relayed through: each
// message and each string value is cut to host.MaxRelayed bytes, so that a
// plugin cannot flood the output with one line (go-plugin reads a line of
// up to 64 KiB as one entry).
type relayLogger struct{ hclog.Logger }

func relayed(l hclog.Logger) hclog.Logger {
	if _, ok := l.(relayLogger); ok {
		return l
	}
	return relayLogger{l}
}

func capArgs(args []any) []any {
	out := make([]any, len(args))
	for i, a := range args {
		if s, ok := a.(string); ok {
			a = host.CapRelayed(s)
		}
		out[i] = a
	}
	return out
}

func (l relayLogger) Log(level hclog.Level, msg string, args ...any) {
	l.Logger.Log(level, host.CapRelayed(msg), capArgs(args)...)
}

// Each level goes to the wrapped logger's own method, not to its Log: a
// logger that treats a level specially (the CLI's, which folds a crashing
// plugin's stack trace into one line) keeps doing so.
func (l relayLogger) Trace(msg string, args ...any) {
	l.Logger.Trace(host.CapRelayed(msg), capArgs(args)...)
}
func (l relayLogger) Debug(msg string, args ...any) {
	l.Logger.Debug(host.CapRelayed(msg), capArgs(args)...)
}
func (l relayLogger) Info(msg string, args ...any) {
	l.Logger.Info(host.CapRelayed(msg), capArgs(args)...)
}
func (l relayLogger) Warn(msg string, args ...any) {
	l.Logger.Warn(host.CapRelayed(msg), capArgs(args)...)
}
func (l relayLogger) Error(msg string, args ...any) {
	l.Logger.Error(host.CapRelayed(msg), capArgs(args)...)
}

func (l relayLogger) With(args ...any) hclog.Logger {
	return relayLogger{l.Logger.With(capArgs(args)...)}
}
func (l relayLogger) Named(name string) hclog.Logger {
	return relayLogger{l.Logger.Named(host.CapRelayed(name))}
}
func (l relayLogger) ResetNamed(name string) hclog.Logger {
	return relayLogger{l.Logger.ResetNamed(host.CapRelayed(name))}
}

// pluginLogger is the logger go-plugin gets for one plugin. go-plugin names
// the relay of a plugin's stderr after its executable's base name, which
// for a verified binary run from its descriptor is "100" of
// /proc/self/fd/100: its lines carry the plugin's name instead.
type pluginLogger struct{ hclog.Logger }

// named returns l named after the plugin name, deaf to go-plugin's own
// naming.
func named(l hclog.Logger, name string) hclog.Logger {
	return pluginLogger{l.Named(name)}
}

func (l pluginLogger) Named(string) hclog.Logger { return l.Logger }
