package replay

import (
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/mmbuild/mmbuild/core/build/config"
	"github.com/mmbuild/mmbuild/core/build/run"
	"github.com/mmbuild/mmbuild/core/evidence/digest"
	"github.com/mmbuild/mmbuild/core/evidence/provenance"
)

// An attestation is data. The replay never expands ${…} in what it
// records: the config at the recorded commit is expanded first, from the
// recorded environment, then every recorded value is compared with it and,
// where the config leaves it open (a passed-through variable, the run's own
// PATH or HOME), taken literally.
//
// How the config's own ${NAME}s resolve in a replay (they resolved from the
// builder's running environment in the build):
//
//   - a variable the attestation records, where its recorded value is the
//     value the builder's environment had: a passed-through env entry, the
//     source of a valueFrom.env entry (through the entry's recorded value),
//     and the base variables (PATH, HOME…; see run.BaseEnv) the config does
//     not declare;
//   - a declared entry that the attestation does not record was unset (an
//     optional entry): undefined, as in the build;
//   - a base variable the attestation does not record was unset: undefined;
//   - any other variable (neither declared nor recorded, such as ${PWD} or a
//     CI variable, or ${SOURCE_DATE_EPOCH} when the config does not declare
//     it) is unknown. It is never read from the replaying machine. Where the
//     attestation states the result, in a material's URI, an unknown
//     variable stands for any text without ?, # or control characters (the
//     same text wherever it appears), and the recorded URI is used as
//     recorded; anywhere else (params, options, env values, artifact globs,
//     replacements, credentials…) the replay is refused, naming the
//     variable.

// Plan is what a replay runs, from the attestation, after it was checked
// against the config at the recorded commit: printed before anything runs.
type Plan struct {
	Repo   string `json:"repo"`
	Commit string `json:"commit"`
	// EntryPoint is the config's path in the source; Config the config
	// given instead (--config), if any.
	EntryPoint string            `json:"entry_point"`
	Config     string            `json:"config,omitempty"`
	Handler    string            `json:"handler"`
	Params     []string          `json:"params"`
	Options    map[string]string `json:"options,omitempty"`
	// Env is the builder's environment, sorted by name.
	Env []PlanVar `json:"env"`
	// Materials are fetched again and verified against these digests.
	Materials []PlanMaterial `json:"materials"`
}

// PlanVar is one variable of the replay's build environment.
type PlanVar struct {
	Name string `json:"name"`
	// Value is the recorded value, used literally; empty for a secret and
	// for the replay's own materials folder.
	Value string `json:"value"`
	// Secret is set for a secret, resolved again today from From ("secret
	// NAME", "env VAR"), never taken from the attestation.
	Secret bool   `json:"secret,omitempty"`
	From   string `json:"from,omitempty"`
	// Declared is false for the run's own variables: the base variables,
	// SOURCE_DATE_EPOCH and MMBUILD_MATERIALS_DIR.
	Declared bool `json:"declared"`
}

// PlanMaterial is one material the replay fetches.
type PlanMaterial struct {
	URI    string            `json:"uri"`
	Digest map[string]string `json:"digest"`
}

// refusedError is a refusal in its own words; it matches ErrRefused.
type refusedError struct{ msg string }

func (e *refusedError) Error() string { return e.msg }
func (e *refusedError) Unwrap() error { return ErrRefused }

// refuse returns "replay: <message>" as a refusal, on one line.
func refuse(format string, args ...any) error {
	msg := "replay: " + fmt.Sprintf(format, args...)
	return &refusedError{msg: strings.NewReplacer("\r", `\r`, "\n", `\n`).Replace(msg)}
}

// invocation is what an attestation records about the build it attests,
// typed. Its values are data: used literally, never expanded.
type invocation struct {
	handler string
	params  []string
	options map[string]string
	// env is the recorded environment; secrets are provenance.Redacted.
	env map[string]string
	// materials are the recorded materials, without the config source and
	// the plugins (the clone and the plugin pins cover those).
	materials []provenance.Resource

	cfg *config.Config // the config being expanded, for lookup
	// asked lists the variables the expansion of the config looked up.
	asked []string
}

// recordedInvocation reads the recorded invocation of st, in either
// provenance format.
func recordedInvocation(st *provenance.Record) (*invocation, error) {
	inv, err := st.Invocation()
	if err != nil {
		return nil, refuse("%v", err)
	}
	if !handlerIDPattern.MatchString(inv.Handler) {
		return nil, refuse("the recorded handler %q is not a handler id", inv.Handler)
	}
	rec := &invocation{handler: inv.Handler, params: inv.Params, options: inv.Options, env: inv.Env}
	for _, m := range st.Materials {
		if m.URI == st.Source.URI || strings.HasPrefix(m.URI, "mmbuild-plugin:") {
			continue
		}
		if len(m.Digest) == 0 {
			return nil, refuse("material %s has no recorded digest", safe(showURI(m.URI)))
		}
		rec.materials = append(rec.materials, provenance.Resource{URI: m.URI, Digest: provenance.Digest(m.Digest)})
	}
	return rec, nil
}

// unknownMark stands for an unknown variable in an expanded string: no
// config value holds a NUL byte, and URL and path checks let it through.
const unknownMark = "\x00mmbuild-replay-unknown:"

func unknownValue(name string) string { return unknownMark + name + "\x00" }

// lookup resolves a variable of the config being expanded from the
// recorded environment (see the rules at the top of this file).
func (r *invocation) lookup(name string) (string, bool) {
	r.asked = append(r.asked, name)
	recorded := func(k string) (string, bool) {
		v, ok := r.env[k]
		if !ok || strings.Contains(v, provenance.Redacted) {
			return "", false
		}
		return v, true
	}
	var declared *config.EnvVar
	for i, e := range r.cfg.Env {
		if e.ValueFrom != nil && e.ValueFrom.Env == name && e.ValueFrom.Secret == "" {
			// The builder read name from its environment into e.Var: its
			// recorded value is name's, its absence says name was unset.
			if _, ok := r.env[e.Var]; !ok {
				return "", false
			}
			if v, ok := recorded(e.Var); ok {
				return v, true
			}
		}
		if e.Var == name {
			declared = &r.cfg.Env[i]
		}
	}
	switch {
	case declared != nil && declared.Value == nil && declared.ValueFrom == nil:
		// Passed through: the recorded value is the environment's.
		if v, ok := recorded(name); ok {
			return v, true
		}
		if _, ok := r.env[name]; !ok {
			return "", false // unset (optional) in the build
		}
	case declared == nil && isBaseVar(name):
		if v, ok := recorded(name); ok {
			return v, true
		}
		if _, ok := r.env[name]; !ok {
			return "", false // unset in the build
		}
	}
	return unknownValue(name), true
}

func isBaseVar(name string) bool {
	for _, k := range run.BaseEnv {
		if k == name {
			return true
		}
	}
	return false
}

// runOwnVar reports whether the run sets name itself, declared or not.
func runOwnVar(name string) bool {
	return isBaseVar(name) || name == run.SourceDateEpochVar || name == run.MaterialsDirVar
}

// rewrite checks the recorded invocation rec against cfg, the config at the
// recorded commit (where names it in messages), and turns cfg into exactly
// the recorded build: the config expanded first from the recorded
// environment, the recorded values then taken as data; secrets resolved
// again by name from today's backends, never from the attestation; the
// recorded materials with their recorded digests; no publishing. Any
// difference is a refusal (ErrRefused) naming it; cfg is then unusable.
func rewrite(cfg *config.Config, rec *invocation, where string) (*Plan, error) {
	if rec.handler != cfg.Handler.ID {
		return nil, refuse("the attestation's handler %q differs from %s: %q", rec.handler, where, cfg.Handler.ID)
	}
	// What the replay does not do is not expanded (nor checked).
	cfg.Artifacts.Destination = ""
	cfg.Transfers = nil
	cfg.Provenance = ""
	cfg.Source = nil
	kinds, err := checkEnvNames(cfg, rec, where)
	if err != nil {
		return nil, err
	}
	rec.cfg = cfg
	if err := cfg.Expand(rec.lookup); err != nil {
		return nil, refuse("%s, expanded from the recorded environment: %v", where, err)
	}
	if err := checkUnknown(cfg, where); err != nil {
		return nil, err
	}
	if !equalStrings(rec.params, cfg.Handler.Params) {
		return nil, refuse("the attestation's params %s differ from %s: %s", quoteList(rec.params), where, quoteList(cfg.Handler.Params))
	}
	if !equalOptions(rec.options, cfg.Handler.Options) {
		return nil, refuse("the attestation's handler options %s differ from %s: %s", quoteMap(rec.options), where, quoteMap(cfg.Handler.Options))
	}
	env, planEnv, err := recordedEnv(cfg, rec, kinds, where)
	if err != nil {
		return nil, err
	}
	cfg.Env = env
	mats, err := matchMaterials(cfg, rec, where)
	if err != nil {
		return nil, err
	}
	return &Plan{
		Handler:   cfg.Handler.ID,
		Params:    append([]string{}, cfg.Handler.Params...),
		Options:   cfg.Handler.Options,
		Env:       planEnv,
		Materials: mats,
	}, nil
}

// envKind is how a recorded variable is replayed.
type envKind int

const (
	envOwn     envKind = iota // the run's own, not declared: the recorded value
	envValue                  // declared value: the config's, equal to the recorded one
	envPassed                 // declared, from the environment: the recorded value
	envSecret                 // declared secret: resolved again by name today
	envSkipped                // the replay's own materials folder
)

// checkEnvNames checks the names of the recorded environment against the
// declared ones (before expansion: names are not expanded) and says how
// each recorded variable is replayed.
// declaredKind is how the recorded variable k (value v), which the config
// declares as e (env[i]), is replayed; a secret recorded with a value, or a
// redacted value the config does not take from a secret, is refused.
func declaredKind(e config.EnvVar, i int, k, v string, secretSources map[string]string, where string) (envKind, error) {
	secret := ""
	switch {
	case e.ValueFrom != nil && e.ValueFrom.Secret != "":
		secret = fmt.Sprintf("secret %q", e.ValueFrom.Secret)
	case e.ValueFrom != nil && secretSources[e.ValueFrom.Env] != "":
		secret = fmt.Sprintf("variable %s, which %s reads", e.ValueFrom.Env, secretSources[e.ValueFrom.Env])
	case e.Value == nil && e.ValueFrom == nil && secretSources[k] != "":
		secret = fmt.Sprintf("variable %s, which %s reads", k, secretSources[k])
	}
	switch {
	case secret != "" && v != provenance.Redacted:
		return 0, refuse("the attestation's environment has a value for %s, which %s takes from %s (env[%d]): a secret is never taken from an attestation", k, where, secret, i)
	case secret != "":
		return envSecret, nil
	case v == provenance.Redacted:
		return 0, refuse("the attestation's environment has %s as a secret (%s), but %s does not take it from a secret (env[%d])", k, provenance.Redacted, where, i)
	case e.Value != nil:
		return envValue, nil
	}
	return envPassed, nil
}

func checkEnvNames(cfg *config.Config, rec *invocation, where string) (map[string]envKind, error) {
	declared := map[string]int{}
	for i, e := range cfg.Env {
		declared[e.Var] = i
	}
	secretSources := secretEnvSources(cfg)
	kinds := map[string]envKind{}
	var extra []string
	for _, k := range sortedNames(rec.env) {
		v := rec.env[k]
		i, ok := declared[k]
		switch {
		case k == run.MaterialsDirVar:
			kinds[k] = envSkipped // the run sets it, declared or not
		case !ok && runOwnVar(k):
			if v == provenance.Redacted {
				return nil, refuse("the attestation's environment has %s as a secret (%s), but %s does not declare it", k, provenance.Redacted, where)
			}
			kinds[k] = envOwn
		case !ok:
			extra = append(extra, safe(k))
		default:
			kind, err := declaredKind(cfg.Env[i], i, k, v, secretSources, where)
			if err != nil {
				return nil, err
			}
			kinds[k] = kind
		}
	}
	if len(extra) > 0 {
		return nil, refuse("the attestation's environment has %s, which %s does not declare", strings.Join(extra, ", "), where)
	}
	for _, k := range sortedNames(kinds) {
		// A value taken from the attestation must be the whole value.
		if v := rec.env[k]; (kinds[k] == envOwn || kinds[k] == envPassed) && strings.Contains(v, provenance.Redacted) {
			return nil, refuse("the attestation's value of %s is partly redacted (%q): it cannot be replayed", k, v)
		}
	}
	for i, e := range cfg.Env {
		if _, ok := rec.env[e.Var]; ok || e.Var == run.MaterialsDirVar {
			continue
		}
		// Only a variable that may be unset may be missing: an optional
		// one read from the environment.
		if e.Value != nil || (e.ValueFrom != nil && e.ValueFrom.Secret != "") || !e.Optional {
			return nil, refuse("%s declares %s (env[%d]), which the attestation's environment does not have", where, e.Var, i)
		}
	}
	return kinds, nil
}

// secretEnvSources maps each environment variable a secret is read from to
// the secret that reads it ("secrets[0]").
func secretEnvSources(cfg *config.Config) map[string]string {
	out := map[string]string{}
	for i, s := range cfg.Secrets {
		from := s.From
		if from == "" {
			from = "env://" + s.Name
		}
		if scheme, rest, ok := strings.Cut(from, "://"); ok && strings.EqualFold(scheme, "env") {
			out[rest] = fmt.Sprintf("secrets[%d]", i)
		}
	}
	return out
}

// recordedEnv returns the replay's env entries, sorted by name, and how the
// plan shows them: the checked kinds of checkEnvNames, the literal values
// compared with the expanded config.
func recordedEnv(cfg *config.Config, rec *invocation, kinds map[string]envKind, where string) ([]config.EnvVar, []PlanVar, error) {
	declared := map[string]config.EnvVar{}
	index := map[string]int{}
	for i, e := range cfg.Env {
		declared[e.Var], index[e.Var] = e, i
	}
	var env []config.EnvVar
	var plan []PlanVar
	for _, k := range sortedNames(rec.env) {
		v := rec.env[k]
		d := declared[k]
		pv := PlanVar{Name: k, Declared: kinds[k] != envOwn && kinds[k] != envSkipped}
		switch kinds[k] {
		case envSkipped:
			plan = append(plan, pv)
			continue
		case envSecret:
			env = append(env, d)
			pv.Secret = true
			if d.ValueFrom != nil && d.ValueFrom.Secret != "" {
				pv.From = "secret " + d.ValueFrom.Secret
			} else if d.ValueFrom != nil {
				pv.From = "env " + d.ValueFrom.Env
			} else {
				pv.From = "env " + k
			}
		case envValue:
			if v != *d.Value {
				return nil, nil, refuse("the attestation's value of %s %q differs from %s: %q (env[%d])", k, v, where, *d.Value, index[k])
			}
			env = append(env, config.EnvVar{Var: k, Value: d.Value, Pos: d.Pos})
			pv.Value = v
		default: // envOwn, envPassed: the recorded value, literally
			val := v
			env = append(env, config.EnvVar{Var: k, Value: &val, Pos: d.Pos})
			pv.Value = v
		}
		plan = append(plan, pv)
	}
	return env, plan, nil
}

// matchMaterials matches the recorded materials with the config's, one to
// one, and gives each config material its recorded URI and digests. An
// unknown variable in a config URI matches any text without ?, # or
// control characters, the same wherever it appears.
func matchMaterials(cfg *config.Config, rec *invocation, where string) ([]PlanMaterial, error) {
	mismatch := func() error {
		recorded := make([]string, 0, len(rec.materials))
		for _, m := range rec.materials {
			recorded = append(recorded, showURI(m.URI))
		}
		sort.Strings(recorded)
		configured := make([]string, 0, len(cfg.Materials))
		for _, m := range cfg.Materials {
			configured = append(configured, showURI(showUnknown(m.URI)))
		}
		sort.Strings(configured)
		return refuse("the attestation's materials %s differ from %s: %s", quoteList(recorded), where, quoteList(configured))
	}
	if len(rec.materials) != len(cfg.Materials) {
		return nil, mismatch()
	}
	used := make([]bool, len(rec.materials))
	bound := map[string]string{}
	var plan []PlanMaterial
	for i := range cfg.Materials {
		m := &cfg.Materials[i]
		found := -1
		for j, r := range rec.materials {
			if used[j] {
				continue
			}
			if matchURI(m.URI, r.URI, bound) {
				found = j
				break
			}
		}
		if found < 0 {
			return nil, mismatch()
		}
		used[found] = true
		r := rec.materials[found]
		if err := checkRecordedURI(r.URI); err != nil {
			return nil, refuse("the attestation's material %s (materials[%d] of %s): %v", safe(showURI(r.URI)), i, where, err)
		}
		if len(m.Digest) > 0 {
			if err := digest.Matches(digest.Set(m.Digest), digest.Set(r.Digest)); err != nil {
				return nil, refuse("the attestation's digest of material %s (%s) differs from %s: %s (materials[%d])",
					safe(showURI(r.URI)), safe(showDigest(r.Digest)), where, showDigest(m.Digest), i)
			}
		}
		m.URI, m.Digest = r.URI, config.Digest(copyDigest(r.Digest))
		plan = append(plan, PlanMaterial{URI: m.URI, Digest: copyDigest(r.Digest)})
	}
	return plan, nil
}

// checkRecordedURI checks a recorded URI the replay fetches as a config's
// URI is checked: a URL, no user name or password, no .. segment. (Where
// the config's URI had an unknown variable, the recorded text stands for
// it.)
func checkRecordedURI(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return errors.New("not a URL")
	case u.User != nil:
		return errors.New("carries a user name or password")
	}
	for _, seg := range strings.Split(u.Path+"/"+u.Opaque, "/") {
		if seg == ".." {
			return errors.New("has a .. segment")
		}
	}
	return nil
}

// matchURI reports whether the recorded uri is the config's tmpl, an
// expanded URI that may hold unknown variables; it binds them in bound
// when it is.
func matchURI(tmpl, uri string, bound map[string]string) bool {
	if !strings.Contains(tmpl, unknownMark) {
		return tmpl == uri
	}
	var re strings.Builder
	var names []string
	re.WriteString("^")
	rest := tmpl
	for {
		i := strings.Index(rest, unknownMark)
		if i < 0 {
			re.WriteString(regexp.QuoteMeta(rest))
			break
		}
		re.WriteString(regexp.QuoteMeta(rest[:i]))
		rest = rest[i+len(unknownMark):]
		end := strings.IndexByte(rest, 0)
		names = append(names, rest[:end])
		rest = rest[end+1:]
		re.WriteString(`([^?#\x00-\x1f\x7f]*)`)
	}
	re.WriteString("$")
	sub := regexp.MustCompile(re.String()).FindStringSubmatch(uri)
	if sub == nil {
		return false
	}
	got := map[string]string{}
	for i, name := range names {
		v := sub[i+1]
		if b, ok := bound[name]; ok && b != v {
			return false
		}
		if g, ok := got[name]; ok && g != v {
			return false
		}
		got[name] = v
	}
	for k, v := range got {
		bound[k] = v
	}
	return true
}

// checkUnknown refuses an unknown variable anywhere in the expanded config
// but in a material's URI, where the recorded URI says what it was.
func checkUnknown(cfg *config.Config, where string) error {
	var found error
	walkStrings(reflect.ValueOf(cfg).Elem(), "", func(path, s string) {
		if found != nil || !strings.Contains(s, unknownMark) || isMaterialURI(path) {
			return
		}
		name := s[strings.Index(s, unknownMark)+len(unknownMark):]
		name = name[:strings.IndexByte(name, 0)]
		found = refuse("%s uses ${%s} in %s: the config does not declare it and the attestation does not record it (declare it under env: to replay it)", where, name, path)
	})
	return found
}

var materialURIPath = regexp.MustCompile(`^materials\[\d+\]\.uri$`)

func isMaterialURI(path string) bool { return materialURIPath.MatchString(path) }

// walkStrings calls f with every string reachable from v, named by its
// path in the config file ("handler.params[0]", "env[1].value").
func walkStrings(v reflect.Value, path string, f func(path, s string)) {
	switch v.Kind() {
	case reflect.String:
		f(path, v.String())
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			walkStrings(v.Elem(), path, f)
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			walkStrings(v.Index(i), fmt.Sprintf("%s[%d]", path, i), f)
		}
	case reflect.Map:
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
		for _, k := range keys {
			walkStrings(v.MapIndex(k), path+"."+k.String(), f)
		}
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			sf := t.Field(i)
			name, _, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
			if !sf.IsExported() || name == "-" {
				continue
			}
			if name == "" {
				name = strings.ToLower(sf.Name)
			}
			p := name
			if path != "" {
				p = path + "." + name
			}
			walkStrings(v.Field(i), p, f)
		}
	}
}

// showUnknown writes an unknown variable of an expanded string back as
// ${NAME}.
func showUnknown(s string) string {
	for {
		i := strings.Index(s, unknownMark)
		if i < 0 {
			return s
		}
		rest := s[i+len(unknownMark):]
		end := strings.IndexByte(rest, 0)
		s = s[:i] + "${" + rest[:end] + "}" + rest[end+1:]
	}
}

// showURI is a URI as messages show it: its query, where tokens hide,
// redacted.
func showURI(s string) string {
	if i := strings.IndexByte(s, '?'); i >= 0 {
		end := len(s)
		if j := strings.IndexByte(s[i:], '#'); j >= 0 {
			end = i + j
		}
		s = s[:i] + "?REDACTED" + s[end:]
	}
	return s
}

// safe is s, quoted when it holds anything but printable characters: what
// an attestation says reaches a terminal only as text.
func safe(s string) string {
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	return s
}

// showDigest is "sha256:…,sha512:…", sorted by algorithm.
func showDigest(d map[string]string) string {
	algs := sortedNames(d)
	parts := make([]string, 0, len(algs))
	for _, a := range algs {
		parts = append(parts, a+":"+d[a])
	}
	return strings.Join(parts, ",")
}

// quoteList is ["a","b"].
func quoteList(l []string) string {
	q := make([]string, len(l))
	for i, s := range l {
		q[i] = fmt.Sprintf("%q", s)
	}
	return "[" + strings.Join(q, ",") + "]"
}

// quoteMap is {"a":"1","b":"2"}, sorted by key.
func quoteMap(m map[string]string) string {
	keys := sortedNames(m)
	q := make([]string, len(keys))
	for i, k := range keys {
		q[i] = fmt.Sprintf("%q:%q", k, m[k])
	}
	return "{" + strings.Join(q, ",") + "}"
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// equalOptions compares option maps; nil and empty are the same.
func equalOptions(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func sortedNames[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func copyDigest(d map[string]string) map[string]string {
	out := make(map[string]string, len(d))
	for k, v := range d {
		out[k] = v
	}
	return out
}
