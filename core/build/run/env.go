package run

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/mmbuild/mmbuild/core/build/config"
	"github.com/mmbuild/mmbuild/core/build/infile"
	"github.com/mmbuild/mmbuild/core/build/redact"
	"github.com/mmbuild/mmbuild/core/build/remote"
	"github.com/mmbuild/mmbuild/core/build/source"
	"github.com/mmbuild/mmbuild/core/evidence/signing"
)

// BaseEnv names the variables every builder gets from the running
// environment, declared or not: what a build tool needs to find programs and
// a home and to speak the user's locale. Everything else must be declared.
var BaseEnv = []string{"PATH", "HOME", "TMPDIR", "USER", "LOGNAME", "LANG", "LC_ALL", "TZ", "TERM"}

// SourceDateEpochVar is the reproducible-builds timestamp variable.
const SourceDateEpochVar = "SOURCE_DATE_EPOCH"

// MaterialsDirVar is the variable that tells the builder where the verified
// materials are.
const MaterialsDirVar = "MMBUILD_MATERIALS_DIR"

// environ is the running environment as far as a run reads it: the
// variables settleEnv names, read once by the plan. A stage looks a
// variable up here, never in the environment itself.
type environ map[string]string

func (e environ) lookup(k string) (string, bool) {
	v, ok := e[k]
	return v, ok
}

// settleEnv reads every variable a run of cfg may read: the base the
// builder gets (its HOME, TMPDIR and PATH make the box too), the keyless
// token's (signing.TokenVars), and every one the config names: env:
// entries (passed through or valueFrom: env), replacements' valueFrom:
// env, and secrets read from the environment.
func settleEnv(cfg *config.Config, lookup func(string) (string, bool)) environ {
	names := slices.Concat(BaseEnv, signing.TokenVars)
	for _, e := range cfg.Env {
		names = append(names, e.Var)
		if e.ValueFrom != nil && e.ValueFrom.Env != "" {
			names = append(names, e.ValueFrom.Env)
		}
	}
	for _, rep := range cfg.Replacements {
		if rep.ValueFrom != nil && rep.ValueFrom.Env != "" {
			names = append(names, rep.ValueFrom.Env)
		}
	}
	for _, s := range cfg.Secrets {
		if u, err := secretURL(s); err == nil && u.Scheme == "env" {
			names = append(names, envVar(u))
		}
	}
	env := environ{}
	for _, k := range names {
		if v, ok := lookup(k); ok {
			env[k] = v
		}
	}
	return env
}

// secretURL is where a secret is read from: its from:, else the
// environment variable of its name (as CI systems expose masked
// variables).
func secretURL(s config.Secret) (*url.URL, error) {
	from := s.From
	if from == "" {
		from = "env://" + s.Name
	}
	u, err := url.Parse(from)
	if err != nil {
		return nil, fmt.Errorf("invalid source %s", remote.Redact(from))
	}
	return u, nil
}

// envVar is the variable an env:// URL names.
func envVar(u *url.URL) string { return u.Host + u.Path }

// resolveSecrets reads every declared secret from its source and teaches
// the redactor its value. A secret read through a storage plugin gets the
// credentials of the secrets resolved before it.
func resolveSecrets(ctx context.Context, t tools, store *remote.Store, cfg *config.Config, running environ) (map[string]string, error) {
	out := map[string]string{}
	for i, s := range cfg.Secrets {
		where := fmt.Sprintf("%s: secret %s (secrets[%d])", s.Pos, s.Name, i)
		withCreds := store.WithCredentials(remote.Credentials(cfg.Credentials, out))
		v, err := readSecret(ctx, t, withCreds, s, running)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		if err := redact.Check(v); err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		t.red.Add(v)
		out[s.Name] = v
	}
	return out, nil
}

// refuseSecretURLs refuses a URL the run publishes to that holds a
// secret's value (in any form the redactor knows): it reached it through a
// plain variable, would become a folder name at the destination, and would
// be recorded in build.env and the attestation as an unusable [redacted]
// URL. A secret reaches a plugin through credentials:, never through a URL.
// (A material's URL may hold one: it is read, not published, and
// redacted wherever it is shown.)
func refuseSecretURLs(t tools, cfg *config.Config) error {
	for _, u := range planURLs(cfg) {
		if u.published && t.red.Contains(u.url) {
			return fmt.Errorf("%s: %s holds a secret's value: a secret never becomes part of a published URL or path (hand it to the plugin with credentials:)", u.where, t.red.String(u.url))
		}
	}
	return nil
}

// maxSecretSize bounds a secret's value: a token or a key is a few KiB.
const maxSecretSize = 1 << 20

// readSecret reads one secret: env:// (from the environment the plan
// read) and file:// by the core itself, any other scheme through its
// storage plugin.
func readSecret(ctx context.Context, t tools, store *remote.Store, s config.Secret, running environ) (string, error) {
	u, err := secretURL(s)
	if err != nil {
		return "", err
	}
	from := s.From // set: without it, the secret is an env:// one
	var b []byte
	switch u.Scheme {
	case "env":
		v, ok := running.lookup(envVar(u))
		if !ok {
			return "", fmt.Errorf("environment variable %s is not set", envVar(u))
		}
		return v, nil
	case "file":
		p, ok := secretFile(from)
		if !ok {
			return "", fmt.Errorf("file:// source must be a local absolute path, not %s", remote.Redact(from))
		}
		if b, err = infile.Read(p, maxSecretSize); err != nil {
			return "", fmt.Errorf("reading the secret: %w", err)
		}
	default:
		dest, err := t.ws.StagingPath("secret")
		if err != nil {
			return "", err
		}
		defer os.RemoveAll(filepath.Dir(dest))
		if _, err := store.Get(ctx, from, dest, remote.Quiet(), remote.WithOptions(s.Options), remote.WithMaxBytes(maxSecretSize)); err != nil {
			return "", err
		}
		if b, err = infile.Read(dest, maxSecretSize); err != nil {
			return "", err
		}
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// secretFile is the local path of a file:// secret source; false for any
// other source. The core reads the file, and the build's box hides it.
func secretFile(from string) (string, bool) {
	u, err := url.Parse(from)
	if err != nil || u.Scheme != "file" || (u.Host != "" && u.Host != "localhost") {
		return "", false
	}
	return u.Path, true
}

// builderEnv is the builder's environment.
type builderEnv struct {
	vars []string // KEY=value, sorted
	// secret names the variables that hold a secret's value, however they
	// got it (valueFrom: secret, or a plain value that equals one).
	secret map[string]bool
}

// lookup returns the value of k.
func (e builderEnv) lookup(k string) (string, bool) {
	for _, kv := range e.vars {
		if name, v, _ := strings.Cut(kv, "="); name == k {
			return v, true
		}
	}
	return "", false
}

// buildEnv assembles the builder's environment: the base (with base),
// then every declared entry, then MMBUILD_MATERIALS_DIR and
// SOURCE_DATE_EPOCH.
func buildEnv(t tools, running environ, base bool, decl []config.EnvVar, secrets map[string]string, src source.Info) (builderEnv, error) {
	env := map[string]string{}
	for _, k := range BaseEnv {
		if v, ok := running.lookup(k); ok && base {
			env[k] = v
		}
	}
	secretVars := map[string]bool{}
	for i, e := range decl {
		v, ok, err := envValue(running, e, secrets)
		if err != nil {
			return builderEnv{}, fmt.Errorf("%s: env[%d] %s: %w", e.Pos, i, e.Var, err)
		}
		if ok {
			env[e.Var] = v
		}
	}
	env[MaterialsDirVar] = t.ws.Materials
	// Reproducible builds take their timestamps from SOURCE_DATE_EPOCH: the
	// source commit's time unless the config sets it. Replay uses the
	// recorded value.
	if _, declared := env[SourceDateEpochVar]; !declared && !src.CommitTime.IsZero() {
		env[SourceDateEpochVar] = strconv.FormatInt(src.CommitTime.Unix(), 10)
	}
	keys := make([]string, 0, len(env))
	for k, v := range env {
		keys = append(keys, k)
		// A variable that holds a secret's value is a secret, however it
		// got it.
		if t.red.Contains(v) {
			secretVars[k] = true
		}
	}
	sort.Strings(keys)
	out := builderEnv{vars: make([]string, 0, len(keys)), secret: secretVars}
	for _, k := range keys {
		out.vars = append(out.vars, k+"="+env[k])
	}
	return out, nil
}

// envValue is one declared variable's value, and whether it is set.
func envValue(running environ, e config.EnvVar, secrets map[string]string) (string, bool, error) {
	switch {
	case e.Value != nil:
		return *e.Value, true, nil
	case e.ValueFrom != nil && e.ValueFrom.Secret != "":
		v, ok := secrets[e.ValueFrom.Secret]
		if !ok {
			return "", false, fmt.Errorf("secret %q is not declared", e.ValueFrom.Secret)
		}
		return v, true, nil
	case e.ValueFrom != nil && e.ValueFrom.Env != "":
		v, ok := running.lookup(e.ValueFrom.Env)
		if !ok && !e.Optional {
			return "", false, fmt.Errorf("environment variable %s is not set", e.ValueFrom.Env)
		}
		return v, ok, nil
	default:
		v, ok := running.lookup(e.Var)
		if !ok && !e.Optional {
			return "", false, fmt.Errorf("passed through from the environment, but %s is not set (set it, give a value:, or mark it optional: true)", e.Var)
		}
		return v, ok, nil
	}
}

// attested is the environment as the attestation records it: secret
// values replaced, names kept; the workspace path, which differs on every
// run, is recorded as a placeholder.
func (e builderEnv) attested(red *redact.Redactor) map[string]string {
	out := map[string]string{}
	for _, kv := range e.vars {
		k, v, _ := strings.Cut(kv, "=")
		switch {
		case e.secret[k]:
			v = redact.Text
		case k == MaterialsDirVar:
			v = "${" + MaterialsDirVar + "}"
		default:
			v = red.String(v)
		}
		out[k] = v
	}
	return out
}
