// Package stagingkey computes the staging key: the content address of every
// input of a build, under which its artifacts and attestation are published
// and by which a later identical build finds them.
//
// The formula (version 2). The key is the lower-case hex sha256 of these
// lines, each ending in "\n", truncated to 32 hex digits (128 bits):
//
//	mmbuild-staging-key/v2
//	source <source>
//	config sha256:<hex of the config file's bytes>
//	handler <handler id as a JSON string>
//	param <each handler param as a JSON string, in order>
//	option <name as a JSON string> <value as a JSON string>   (the handler's options, sorted by name)
//	plugin sha256:<hex of the handler plugin binary>
//	material <uri as a JSON string> <alg>:<hex> ...   (sorted by uri; algs sorted)
//	env <name as a JSON string> <value as a JSON string>   (sorted by name)
//
// The env lines are the declared variables the builder sees and the values
// replacements take from the environment; a secret's value is never part
// of the key (the key is public), so it is recorded as "[redacted]". The
// base variables (PATH, HOME, ...) and the run's own (MMBUILD_MATERIALS_DIR,
// SOURCE_DATE_EPOCH derived from the commit) stay out so that runners with
// different home folders share the cache.
//
// <source> is "git:<commit>" for a clean git source or work tree, and
// "unversioned:<invocation id>" otherwise: an input that cannot be named by
// content must never match an earlier build, so such builds are never cached.
package stagingkey

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Inputs are what the key covers.
type Inputs struct {
	Source       string // "git:<commit>" or "unversioned:<id>"
	ConfigSHA256 string // hex
	HandlerID    string
	Params       []string
	Options      map[string]string // the handler's options
	PluginSHA256 string            // "sha256:<hex>"
	Materials    []Material
	Env          [][2]string // name, value
	// Isolation is the box the builder runs in, as applied; "" for none
	// recorded (and no line in the text, so older keys stay as they were).
	Isolation string
}

// Material is one verified material.
type Material struct {
	URI    string
	Digest map[string]string
}

// Text returns the canonical text the key hashes.
func Text(in Inputs) string {
	var b strings.Builder
	b.WriteString("mmbuild-staging-key/v2\n")
	fmt.Fprintf(&b, "source %s\n", in.Source)
	fmt.Fprintf(&b, "config sha256:%s\n", in.ConfigSHA256)
	fmt.Fprintf(&b, "handler %s\n", quote(in.HandlerID))
	for _, p := range in.Params {
		fmt.Fprintf(&b, "param %s\n", quote(p))
	}
	opts := make([]string, 0, len(in.Options))
	for k := range in.Options {
		opts = append(opts, k)
	}
	sort.Strings(opts)
	for _, k := range opts {
		fmt.Fprintf(&b, "option %s %s\n", quote(k), quote(in.Options[k]))
	}
	fmt.Fprintf(&b, "plugin %s\n", in.PluginSHA256)
	ms := append([]Material(nil), in.Materials...)
	sort.SliceStable(ms, func(i, j int) bool { return ms[i].URI < ms[j].URI })
	for _, m := range ms {
		algs := make([]string, 0, len(m.Digest))
		for a := range m.Digest {
			algs = append(algs, a)
		}
		sort.Strings(algs)
		b.WriteString("material " + quote(m.URI))
		for _, a := range algs {
			b.WriteString(" " + a + ":" + strings.ToLower(m.Digest[a]))
		}
		b.WriteString("\n")
	}
	env := append([][2]string(nil), in.Env...)
	sort.SliceStable(env, func(i, j int) bool { return env[i][0] < env[j][0] })
	for _, kv := range env {
		fmt.Fprintf(&b, "env %s %s\n", quote(kv[0]), quote(kv[1]))
	}
	if in.Isolation != "" {
		fmt.Fprintf(&b, "isolation %s\n", quote(in.Isolation))
	}
	return b.String()
}

// Key returns the staging key of in.
func Key(in Inputs) string {
	sum := sha256.Sum256([]byte(Text(in)))
	return hex.EncodeToString(sum[:])[:32]
}

// Cacheable reports whether the inputs are named by content.
func Cacheable(in Inputs) bool { return strings.HasPrefix(in.Source, "git:") }

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
