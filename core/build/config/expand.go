package config

import (
	"fmt"
	"github.com/bmatcuk/doublestar/v4"
	"net/url"
	"os"
	"strings"
)

// target is one string value that Expand rewrites.
type target struct {
	path    string
	s       *string
	envOnly bool // expanded from the running environment only (env[].value)
	env     int  // index in Config.Env, when envOnly
	// check, if set, validates (and may normalize) the final value; it
	// returns a problem message, or "" when the value is fine.
	check func(path string, v *string) string
}

// targets lists the strings Expand rewrites, in file order.
func (c *Config) targets() []target {
	var ts []target
	add := func(path string, s *string, check func(string, *string) string) {
		ts = append(ts, target{path: path, s: s, check: check})
	}
	addList := func(path string, l []string, check func(string, *string) string) {
		for i := range l {
			add(indexPath(path, i), &l[i], check)
		}
	}
	addList(c.handlerKey+".params", c.Handler.Params, nil)
	if s := c.Source; s != nil {
		add("source.repo", &s.Repo, sourceRepo)
		add("source.commit", &s.Commit, checkCommit)
		add("source.ref", &s.Ref, nil)
	}
	for i := range c.Secrets {
		add(indexPath("secrets", i)+".from", &c.Secrets[i].From, checkSecretFrom)
	}
	for i := range c.Env {
		if c.Env[i].Value != nil {
			ts = append(ts, target{path: indexPath("env", i) + ".value", s: c.Env[i].Value, envOnly: true, env: i})
		}
	}
	for i := range c.Replacements {
		r := &c.Replacements[i]
		p := indexPath("replacements", i)
		addList(p+".paths", r.Paths, workPath)
		if r.Value != nil {
			add(p+".value", r.Value, nil)
		}
	}
	for i := range c.Materials {
		m := &c.Materials[i]
		p := indexPath("materials", i)
		add(p+".uri", &m.URI, requiredURL)
		add(p+".attestation", &m.Attestation, optionalURL)
	}
	add("artifacts.destination", &c.Artifacts.Destination, optionalURL)
	addList("artifacts.files", c.Artifacts.Files, workGlob)
	addList("artifacts.images", c.Artifacts.Images, imageRef)
	for i := range c.Artifacts.ImageLayouts {
		if c.Artifacts.ImageLayouts[i] != "" {
			add(indexPath("artifacts.images", i)+".layout", &c.Artifacts.ImageLayouts[i], workPath)
		}
	}
	for i := range c.Transfers {
		t := &c.Transfers[i]
		p := indexPath("transfers", i)
		addList(p+".source", t.Source, workGlob)
		add(p+".destination", &t.Destination, requiredURL)
	}
	add("provenance", &c.Provenance, provenancePath)
	for i := range c.Credentials {
		add(indexPath("credentials", i)+".url", &c.Credentials[i].URL, requiredURL)
	}
	return ts
}

func required(path string, v *string) string {
	if *v == "" {
		return path + " is required"
	}
	return ""
}

// sourceRepo is required and carries no user name or password (a token
// reaches the clone through source.credentialsSecret).
func sourceRepo(path string, v *string) string {
	if problem := required(path, v); problem != "" {
		return problem
	}
	if u, err := url.Parse(*v); err == nil && u.User != nil {
		return path + " carries a user name or password (user@host): name a secret holding the token in source.credentialsSecret instead"
	}
	return ""
}

// requiredURL is required and optionalURL.
func requiredURL(path string, v *string) string {
	if problem := required(path, v); problem != "" {
		return problem
	}
	return optionalURL(path, v)
}

// optionalURL refuses a URL that carries a user name or password: often a
// token (https://TOKEN@host/), and credentials reach plugins only through
// credentials:. The message never repeats the URL.
func optionalURL(path string, v *string) string {
	if *v == "" {
		return ""
	}
	u, err := url.Parse(*v)
	if err != nil {
		return ""
	}
	if u.User != nil {
		return path + " carries a user name or password (user@host): credentials are refused in URLs, give them through credentials: and a secret"
	}
	for _, seg := range strings.Split(u.Path+"/"+u.Opaque, "/") {
		if seg == ".." {
			return path + " has a .. segment: a URL names its object directly"
		}
	}
	return ""
}

func nonEmpty(path string, v *string) string {
	if *v == "" {
		return path + " is empty"
	}
	return ""
}

// workPath accepts a path (or glob) relative to the work tree that does not
// leave it: not empty, not absolute, no ".." segment. Symlinks are checked
// where the path is used, against the files as they are then.
func workPath(path string, v *string) string {
	if *v == "" {
		return path + " is empty"
	}
	return optionalWorkPath(path, v)
}

// workGlob is workPath for a glob (** allowed), which must be one that the
// run can match.
func workGlob(path string, v *string) string {
	if problem := workPath(path, v); problem != "" {
		return problem
	}
	if !doublestar.ValidatePattern(*v) {
		return fmt.Sprintf("%s %q is not a valid glob", path, *v)
	}
	return ""
}

// provenancePath accepts the folder for the local copy of the attestation:
// the user's own output folder, so an absolute path is fine (the original
// format wrote to /tmp/slsa/); a relative one must stay in the work tree.
func provenancePath(path string, v *string) string {
	if strings.HasPrefix(*v, "/") {
		return ""
	}
	return optionalWorkPath(path, v)
}

// optionalWorkPath is workPath for an optional value: empty is fine.
func optionalWorkPath(path string, v *string) string {
	switch {
	case *v == "":
		return ""
	case strings.HasPrefix(*v, "/"):
		return fmt.Sprintf("%s %q is absolute: paths are relative to the work tree", path, *v)
	}
	for _, seg := range strings.Split(*v, "/") {
		if seg == ".." {
			return fmt.Sprintf("%s %q leaves the work tree (..)", path, *v)
		}
	}
	return ""
}

// checkCommit accepts an empty value or a full SHA-1 or SHA-256 commit
// hash, which it turns to lower case.
func checkCommit(path string, v *string) string {
	if *v == "" {
		return ""
	}
	if (len(*v) != 40 && len(*v) != 64) || !isHex(*v) {
		return fmt.Sprintf("invalid %s %q: want a full commit hash (40 or 64 hexadecimal digits)", path, *v)
	}
	*v = strings.ToLower(*v)
	return ""
}

// checkSecretFrom accepts an empty value (legacy: the environment variable
// named like the secret) or a URL: env://VAR, file:///path, s3://…
func checkSecretFrom(path string, v *string) string {
	if *v == "" {
		return ""
	}
	if problem := optionalURL(path, v); problem != "" {
		return problem
	}
	scheme, rest, ok := strings.Cut(*v, "://")
	if !ok || !validScheme(scheme) {
		return fmt.Sprintf("invalid %s %q: want a URL such as env://VAR or file:///path", path, *v)
	}
	if strings.EqualFold(scheme, "env") && !validName(rest) {
		return fmt.Sprintf("invalid variable name %q in %s", rest, path)
	}
	return ""
}

func validScheme(s string) bool {
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case i > 0 && (r >= '0' && r <= '9' || r == '+' || r == '-' || r == '.'):
		default:
			return false
		}
	}
	return s != ""
}

// validName reports whether s is a variable name: [A-Za-z_][A-Za-z0-9_]*.
func validName(s string) bool {
	for i, r := range s {
		switch {
		case r == '_', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case i > 0 && r >= '0' && r <= '9':
		default:
			return false
		}
	}
	return s != ""
}

func isHex(s string) bool {
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f' || r >= 'A' && r <= 'F') {
			return false
		}
	}
	return true
}

// expandString expands ${NAME} in s with get. "$$" is a literal "$"; a "$"
// followed by anything but "{" or "$" stays as it is, so make's $(CC)
// survives. path names the string in error messages.
func expandString(s, path string, get func(name, path string) (string, error)) (string, error) {
	if !strings.Contains(s, "$") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] != '$' || i+1 >= len(s) {
			b.WriteByte(s[i])
			i++
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i += 2
		case '{':
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				return "", fmt.Errorf("unterminated \"${\" in %s (write $$ for a literal $)", path)
			}
			name := s[i+2 : i+2+end]
			if !validName(name) {
				return "", fmt.Errorf("invalid variable name %q in %s", name, path)
			}
			v, err := get(name, path)
			if err != nil {
				return "", err
			}
			b.WriteString(v)
			i += end + 3
		default:
			b.WriteByte('$')
			i++
		}
	}
	return b.String(), nil
}

// secretVars returns the variables that hold secrets, each with the
// reason: they are never expanded into the config.
func (c *Config) secretVars() map[string]string {
	vars := map[string]string{}
	for i, s := range c.Secrets {
		if s.Name != "" {
			vars[s.Name] = fmt.Sprintf("it names %s", indexPath("secrets", i))
		}
		if scheme, rest, ok := strings.Cut(s.From, "://"); ok && strings.EqualFold(scheme, "env") && validName(rest) {
			vars[rest] = fmt.Sprintf("%s reads it", indexPath("secrets", i))
		}
	}
	for i, e := range c.Env {
		if e.ValueFrom == nil || e.Var == "" {
			continue
		}
		if e.ValueFrom.Secret != "" {
			vars[e.Var] = fmt.Sprintf("%s takes it from secret %q", indexPath("env", i), e.ValueFrom.Secret)
		} else if _, secret := vars[e.ValueFrom.Env]; secret && e.ValueFrom.Env != "" {
			vars[e.Var] = fmt.Sprintf("%s takes it from %q, which holds a secret", indexPath("env", i), e.ValueFrom.Env)
		}
	}
	return vars
}

func secretError(name, path, reason string) error {
	return fmt.Errorf("variable %q in %s is a secret (%s); secrets are never expanded into the config", name, path, reason)
}

// checkReferences checks the ${…} syntax of every target and refuses
// references to secrets, without looking anything up. It runs at parse
// time, so that a config can be validated without its environment.
func (c *Config) checkReferences() error {
	secrets := c.secretVars()
	get := func(name, path string) (string, error) {
		if reason, ok := secrets[name]; ok {
			return "", secretError(name, path, reason)
		}
		return "", nil
	}
	for _, t := range c.targets() {
		if _, err := expandString(*t.s, t.path, get); err != nil {
			return &Error{Pos: c.PositionOf(t.path), Msg: err.Error()}
		}
		if t.check != nil && !strings.Contains(*t.s, "${") {
			if problem := t.check(t.path, t.s); problem != "" {
				return &Error{Pos: c.PositionOf(t.path), Msg: problem}
			}
		}
	}
	return nil
}

// Expand replaces ${NAME} in the config's string values (handler params,
// source repo/commit/ref, secrets' from, env values, replacements' values
// and paths, materials' uri and attestation, artifacts' destination and
// files, transfers, provenance). "$$" is a literal "$"; a "$" not followed
// by "{" or "$" is kept, so $(CC) survives.
//
// A name is looked up in the declared env entries first: a value entry
// (itself expanded from lookup only), a valueFrom.env entry (lookup of
// that variable), a passthrough entry (lookup of its name); then in lookup,
// the running environment (os.LookupEnv if nil). A declared optional entry
// that is not set expands to "". Variables holding secrets are refused:
// secret values are never expanded into the config. An undefined variable
// is an *Error naming it and the string that used it.
//
// On error the config is left unchanged. Expand once: "$$" has become "$"
// in the result.
func (c *Config) Expand(lookup func(name string) (string, bool)) error {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	secrets := c.secretVars()
	opts, storeOptions := c.optionTargets()
	ts := append(c.targets(), opts...)
	results := make([]string, len(ts))
	// env values first: the other strings may use them.
	if err := c.expandTargets(ts, true, envLookup(lookup, secrets), results); err != nil {
		return err
	}
	values := envValues(ts, results)
	if err := c.expandTargets(ts, false, c.configLookup(lookup, secrets, values), results); err != nil {
		return err
	}
	for j, t := range ts {
		*t.s = results[j]
	}
	storeOptions()
	return nil
}

// optionTargets lists the plugin options' values as targets (copies: map
// values have no address) and returns the function that stores the
// expanded copies back.
func (c *Config) optionTargets() ([]target, func()) {
	var ts []target
	var stores []func()
	add := func(path string, m Options) {
		for _, k := range sortedKeys(m) {
			v := m[k]
			ts = append(ts, target{path: path + "." + k, s: &v})
			stores = append(stores, func() { m[k] = v })
		}
	}
	add(c.handlerKey+".options", c.Handler.Options)
	for i := range c.Secrets {
		add(indexPath("secrets", i)+".options", c.Secrets[i].Options)
	}
	for i := range c.Materials {
		add(indexPath("materials", i)+".options", c.Materials[i].Options)
	}
	add("artifacts.options", c.Artifacts.Options)
	for i := range c.Transfers {
		add(indexPath("transfers", i)+".options", c.Transfers[i].Options)
	}
	for i := range c.Credentials {
		add(indexPath("credentials", i)+".options", c.Credentials[i].Options)
	}
	return ts, func() {
		for _, store := range stores {
			store()
		}
	}
}

// getter returns the value of the variable name, used in the string at
// path (for error messages).
type getter func(name, path string) (string, error)

// expandTargets expands, with get, the targets of ts whose envOnly is
// envOnly, checks each result, and stores it in results at the target's
// index. It changes nothing in the config, so that Expand can leave the
// config as it was when a later target fails.
func (c *Config) expandTargets(ts []target, envOnly bool, get getter, results []string) error {
	for j, t := range ts {
		if t.envOnly != envOnly {
			continue
		}
		v, err := expandString(*t.s, t.path, get)
		if err != nil {
			return &Error{Pos: c.PositionOf(t.path), Msg: err.Error()}
		}
		if t.check != nil {
			if problem := t.check(t.path, &v); problem != "" {
				return &Error{Pos: c.PositionOf(t.path), Msg: problem + " after expansion"}
			}
		}
		results[j] = v
	}
	return nil
}

// envValues returns the expanded env[].value strings of results, by index
// in Config.Env: the values the other strings see for those variables.
func envValues(ts []target, results []string) map[int]string {
	values := map[int]string{}
	for j, t := range ts {
		if t.envOnly {
			values[t.env] = results[j]
		}
	}
	return values
}

// envLookup returns the getter of env[].value strings: they see the
// running environment (lookup) only, not the declared env entries, and
// never a variable that holds a secret (secrets maps those to the reason).
func envLookup(lookup func(string) (string, bool), secrets map[string]string) getter {
	return func(name, path string) (string, error) {
		if reason, ok := secrets[name]; ok {
			return "", secretError(name, path, reason)
		}
		if v, ok := lookup(name); ok {
			return v, nil
		}
		return "", fmt.Errorf("undefined variable %q in %s", name, path)
	}
}

// configLookup returns the getter of every string but env[].value: a
// variable declared under env is resolved through its first entry (values
// holds the expanded env[].value strings, by index), any other through
// envLookup. Variables that hold secrets are refused either way.
func (c *Config) configLookup(lookup func(string) (string, bool), secrets map[string]string, values map[int]string) getter {
	declared := map[string]int{}
	for i, e := range c.Env {
		if _, dup := declared[e.Var]; !dup {
			declared[e.Var] = i
		}
	}
	fromEnv := envLookup(lookup, secrets)
	return func(name, path string) (string, error) {
		if reason, ok := secrets[name]; ok {
			return "", secretError(name, path, reason)
		}
		i, ok := declared[name]
		if !ok {
			return fromEnv(name, path)
		}
		return c.declaredValue(i, name, path, lookup, values)
	}
}

// declaredValue returns the value of name, declared by env[i]: its
// expanded value, the variable its valueFrom.env names, or itself passed
// through from lookup. An unset optional entry is "". The errors say which
// entry made the variable undefined, since the file does declare it.
func (c *Config) declaredValue(i int, name, path string, lookup func(string) (string, bool), values map[int]string) (string, error) {
	e := c.Env[i]
	from := name
	switch {
	case e.Value != nil:
		return values[i], nil
	case e.ValueFrom != nil && e.ValueFrom.Secret != "":
		return "", secretError(name, path, fmt.Sprintf("%s takes it from secret %q", indexPath("env", i), e.ValueFrom.Secret))
	case e.ValueFrom != nil:
		from = e.ValueFrom.Env
	}
	if v, ok := lookup(from); ok {
		return v, nil
	}
	if e.Optional {
		return "", nil
	}
	if from != name {
		return "", fmt.Errorf("undefined variable %q in %s (%s takes it from %q, which is not set)", name, path, indexPath("env", i), from)
	}
	return "", fmt.Errorf("undefined variable %q in %s (%s passes it through, but it is not set)", name, path, indexPath("env", i))
}
