package run

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/mmbuild/mmbuild/sdk/storage"
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

// resolveSecrets reads every declared secret from its source.
func (r *runner) resolveSecrets(ctx context.Context) (map[string]string, error) {
	out := map[string]string{}
	r.secrets = out // credentials of later secrets may use earlier ones
	for i, s := range r.cfg.Secrets {
		where := fmt.Sprintf("%s: secret %s (secrets[%d])", s.Pos, s.Name, i)
		v, err := r.readSecret(ctx, s.Name, s.From)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		if len(strings.TrimSpace(v)) < minRedactLen {
			return nil, fmt.Errorf("%s: the value is shorter than %d characters and could not be redacted from output reliably", where, minRedactLen)
		}
		r.redact.add(v)
		out[s.Name] = v
	}
	return out, nil
}

func (r *runner) readSecret(ctx context.Context, name, from string) (string, error) {
	if from == "" {
		from = "env://" + name
	}
	u, err := url.Parse(from)
	if err != nil {
		return "", fmt.Errorf("invalid source %s", redactURL(from))
	}
	switch u.Scheme {
	case "env":
		v, ok := r.o.lookupEnv(u.Host + u.Path)
		if !ok {
			return "", fmt.Errorf("environment variable %s is not set", u.Host+u.Path)
		}
		return v, nil
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return "", fmt.Errorf("file:// source must be a local absolute path, not %s", redactURL(from))
		}
		b, err := os.ReadFile(u.Path)
		if err != nil {
			return "", fmt.Errorf("reading %s: %w", u.Path, errors.Unwrap(err))
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	st, _, err := r.storageFor(from)
	if err != nil {
		return "", err
	}
	dest, err := r.ws.StagingPath("secret")
	if err != nil {
		return "", err
	}
	defer os.Remove(dest)
	if _, err := st.Get(ctx, &storage.GetRequest{URL: from, DestPath: dest, Options: r.storageOptions(from)}); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("%s does not exist", redactURL(from))
		}
		return "", fmt.Errorf("fetching %s: %w", redactURL(from), err)
	}
	b, err := os.ReadFile(dest)
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// buildEnv assembles the builder's environment: the base, then every
// declared entry, then MMBUILD_MATERIALS_DIR.
func (r *runner) buildEnv(secrets map[string]string) error {
	env := map[string]string{}
	for _, k := range BaseEnv {
		if r.o.noBaseEnv {
			break
		}
		if v, ok := r.o.lookupEnv(k); ok {
			env[k] = v
		}
	}
	r.secretNames = map[string]bool{}
	for i, e := range r.cfg.Env {
		where := fmt.Sprintf("%s: env[%d] %s", e.Pos, i, e.Var)
		switch {
		case e.Value != nil:
			env[e.Var] = *e.Value
		case e.ValueFrom != nil && e.ValueFrom.Secret != "":
			v, ok := secrets[e.ValueFrom.Secret]
			if !ok {
				return fmt.Errorf("%s: secret %q is not declared", where, e.ValueFrom.Secret)
			}
			env[e.Var] = v
			r.secretNames[e.Var] = true
		case e.ValueFrom != nil && e.ValueFrom.Env != "":
			v, ok := r.o.lookupEnv(e.ValueFrom.Env)
			if !ok {
				if e.Optional {
					continue
				}
				return fmt.Errorf("%s: environment variable %s is not set", where, e.ValueFrom.Env)
			}
			env[e.Var] = v
		default:
			v, ok := r.o.lookupEnv(e.Var)
			if !ok {
				if e.Optional {
					continue
				}
				return fmt.Errorf("%s: passed through from the environment, but %s is not set (set it, give a value:, or mark it optional: true)", where, e.Var)
			}
			env[e.Var] = v
		}
	}
	env[MaterialsDirVar] = r.ws.Materials
	// Reproducible builds take their timestamps from SOURCE_DATE_EPOCH: the
	// source commit's time unless the config sets it. Replay uses the
	// recorded value.
	if _, declared := env[SourceDateEpochVar]; !declared && !r.src.CommitTime.IsZero() {
		env[SourceDateEpochVar] = strconv.FormatInt(r.src.CommitTime.Unix(), 10)
	}
	// A declared variable that happens to hold a secret's value is a secret.
	for k, v := range env {
		if r.redact.string(v) != v {
			r.secretNames[k] = true
		}
	}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	r.env = make([]string, 0, len(keys))
	for _, k := range keys {
		r.env = append(r.env, k+"="+env[k])
	}
	return nil
}

// attestedEnv is the environment as the attestation records it: secret
// values replaced, names kept; the workspace path, which differs on every
// run, is recorded as a placeholder.
func (r *runner) attestedEnv() map[string]string {
	out := map[string]string{}
	for _, kv := range r.env {
		k, v, _ := strings.Cut(kv, "=")
		switch {
		case r.secretNames[k]:
			v = redactText
		case k == MaterialsDirVar:
			v = "${" + MaterialsDirVar + "}"
		default:
			v = r.redact.string(v)
		}
		out[k] = v
	}
	return out
}
