package config

import (
	"regexp"
	"sort"
	"strings"
)

// validate checks what the schema walk cannot: required values, names,
// references between entries, digests, and the ${…} syntax of every string
// Expand will rewrite. It normalizes digests and commits to lower case.
//
// Each section is checked by its own function, in file order, so the first
// problem in the file is the one reported. Secrets come first: the other
// sections refer to them by name.
// handlerID is what a handler id may be: the id part of a plugin's kind
// "handler:<id>".
var handlerID = regexp.MustCompile(`^[a-z][a-z0-9+.-]*$`)

func (c *Config) validate() error {
	hk := c.handlerKey
	if c.Handler.ID == "" {
		return c.errorf(hk+".id", "%s.id is required", hk)
	}
	if !handlerID.MatchString(c.Handler.ID) {
		return c.errorf(hk+".id", "invalid %s.id %q: want a plugin's handler id, [a-z][a-z0-9+.-]*", hk, c.Handler.ID)
	}
	secrets, err := c.validateSecrets()
	if err != nil {
		return err
	}
	declared := func(name string) bool { _, ok := secrets[name]; return ok }
	if err := c.validateSource(declared); err != nil {
		return err
	}
	if err := c.validateEnv(declared); err != nil {
		return err
	}
	if err := c.validateReplacements(declared); err != nil {
		return err
	}
	if err := c.validateMaterials(); err != nil {
		return err
	}
	if err := c.validateArtifacts(); err != nil {
		return err
	}
	if err := c.validateTransfers(); err != nil {
		return err
	}
	if err := c.validateCredentials(declared); err != nil {
		return err
	}
	if err := c.validateSigning(declared); err != nil {
		return err
	}
	return c.checkReferences()
}

// validateSecrets checks the secrets' names and returns the index of each
// name, for the sections that refer to secrets.
func (c *Config) validateSecrets() (map[string]int, error) {
	secrets := map[string]int{}
	for i, s := range c.Secrets {
		p := indexPath("secrets", i)
		switch first, dup := secrets[s.Name]; {
		case s.Name == "":
			return nil, c.errorf(p+".name", "%s.name is required", p)
		case !validName(s.Name):
			return nil, c.errorf(p+".name", "invalid secret name %q in %s.name (want letters, digits and _, not starting with a digit)", s.Name, p)
		case dup:
			return nil, c.errorf(p+".name", "duplicate secret %q in %s.name (first declared in %s)", s.Name, p, indexPath("secrets", first))
		}
		secrets[s.Name] = i
	}
	return secrets, nil
}

// validateSource checks that the source names at most one of commit and
// ref, and that its credentials secret is declared.
func (c *Config) validateSource(declared func(string) bool) error {
	s := c.Source
	if s == nil {
		return nil
	}
	if s.Commit != "" && s.Ref != "" {
		return c.errorf("source.ref", "source.commit and source.ref are both set; use one")
	}
	if s.CredentialsSecret != "" && !declared(s.CredentialsSecret) {
		return c.errorf("source.credentialsSecret", "undeclared secret %q in source.credentialsSecret (declare it under secrets)", s.CredentialsSecret)
	}
	return nil
}

// validateEnv checks that each env entry names a new variable and takes
// its value from at most one place.
func (c *Config) validateEnv(declared func(string) bool) error {
	vars := map[string]int{}
	for i, e := range c.Env {
		p := indexPath("env", i)
		switch first, dup := vars[e.Var]; {
		case e.Var == "":
			return c.errorf(p+".var", "%s.var is required", p)
		case !validName(e.Var):
			return c.errorf(p+".var", "invalid variable name %q in %s.var (want letters, digits and _, not starting with a digit)", e.Var, p)
		case dup:
			return c.errorf(p+".var", "duplicate variable %q in %s.var (first declared in %s)", e.Var, p, indexPath("env", first))
		case e.Value != nil && e.ValueFrom != nil:
			return c.errorf(p+".valueFrom", "%s sets both value and valueFrom; use one", p)
		}
		vars[e.Var] = i
		if err := c.validateValueFrom(p+".valueFrom", e.ValueFrom, declared); err != nil {
			return err
		}
	}
	return nil
}

// validateReplacements checks that each replacement has a tag, paths, and
// exactly one of value and valueFrom.
func (c *Config) validateReplacements(declared func(string) bool) error {
	for i, r := range c.Replacements {
		p := indexPath("replacements", i)
		switch {
		case r.Tag == "":
			return c.errorf(p+".tag", "%s.tag is required", p)
		case len(r.Paths) == 0:
			return c.errorf(p+".paths", "%s.paths needs at least one path", p)
		case r.Value != nil && r.ValueFrom != nil:
			return c.errorf(p+".valueFrom", "%s sets both value and valueFrom; use one", p)
		case r.Value == nil && r.ValueFrom == nil:
			return c.errorf(p, "%s needs value or valueFrom", p)
		}
		if err := c.validateValueFrom(p+".valueFrom", r.ValueFrom, declared); err != nil {
			return err
		}
	}
	return nil
}

// validateMaterials checks (and lower-cases) the materials' digests, and
// that an attestation: attached comes with keys.
func (c *Config) validateMaterials() error {
	for i := range c.Materials {
		if err := c.validateDigest(indexPath("materials", i)+".digest", c.Materials[i].Digest); err != nil {
			return err
		}
		m := &c.Materials[i]
		p := indexPath("materials", i)
		if m.Attestation == AttestationAttached && len(m.Keys) == 0 && len(m.Identities) == 0 {
			return c.errorf(p+".attestation", "%s.attestation: %s needs keys or identities: whom the image's attached provenance must be signed by", p, AttestationAttached)
		}
		if (len(m.Identities) > 0 || m.TrustedRoot != "") && m.Attestation == "" {
			return c.errorf(p+".identities", "%s: identities and trustedRoot say who signed the material's attestation: give attestation too", p)
		}
		if m.TrustedRoot != "" && len(m.Identities) == 0 {
			return c.errorf(p+".trustedRoot", "%s.trustedRoot: no identities to verify under it", p)
		}
	}
	return nil
}

// validateArtifacts refuses an image named twice (each entry's form is
// checked with the other URLs, after expansion too).
func (c *Config) validateArtifacts() error {
	seen := map[string]int{}
	for i, ref := range c.Artifacts.Images {
		if first, dup := seen[ref]; dup {
			return c.errorf(indexPath("artifacts.images", i), "artifacts.images[%d] repeats artifacts.images[%d]", i, first)
		}
		seen[ref] = i
	}
	return nil
}

// validateTransfers checks that each transfer copies at least one file.
func (c *Config) validateTransfers() error {
	for i, t := range c.Transfers {
		if p := indexPath("transfers", i); len(t.Source) == 0 {
			return c.errorf(p+".source", "%s.source needs at least one file", p)
		}
	}
	return nil
}

// validateCredentials checks that each credential has a URL prefix and
// declared secrets for the options it fills, and, if it names one, a plain
// header name (the secret must not be smuggled into another header or
// line).
func (c *Config) validateCredentials(declared func(string) bool) error {
	for i, cr := range c.Credentials {
		p := indexPath("credentials", i)
		switch {
		case cr.URL == "":
			return c.errorf(p+".url", "%s.url is required (a URL prefix such as https://artifacts.example.com/)", p)
		case !strings.Contains(cr.URL, "://"):
			return c.errorf(p+".url", "%s.url %q is not a URL", p, cr.URL)
		case cr.Secret == "" && len(cr.Secrets) == 0:
			return c.errorf(p, "%s needs secret (the name of a declared secret) or secrets (option: secret name)", p)
		case cr.Secret != "" && cr.Secrets[TokenOption] != "":
			return c.errorf(p+".secret", "%s sets the token twice (secret and secrets.%s); keep one", p, TokenOption)
		case cr.Header != "" && cr.Options[TokenHeaderOption] != "":
			return c.errorf(p+".header", "%s sets the token's header twice (header and options.%s); keep one", p, TokenHeaderOption)
		case cr.Header != "" && cr.Secret == "":
			return c.errorf(p+".header", "%s.header names the header of secret:, which is not set", p)
		case strings.ContainsAny(cr.Header, ": \r\n"):
			return c.errorf(p+".header", "%s.header %q must be a header name", p, cr.Header)
		}
		if cr.Secret != "" && !declared(cr.Secret) {
			return c.errorf(p+".secret", "undeclared secret %q in %s.secret (declare it under secrets)", cr.Secret, p)
		}
		for _, opt := range sortedKeys(cr.Secrets) {
			if !declared(cr.Secrets[opt]) {
				return c.errorf(p+".secrets."+opt, "undeclared secret %q in %s.secrets.%s (declare it under secrets)", cr.Secrets[opt], p, opt)
			}
			if _, both := cr.Options[opt]; both {
				return c.errorf(p+".options."+opt, "%s.options.%s is also filled from a secret; keep one", p, opt)
			}
		}
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// validateSigning checks that the signing key's secret, if any, is
// declared, and that keyless signing is asked for alone.
func (c *Config) validateSigning(declared func(string) bool) error {
	s := c.Signing
	if s == nil {
		return nil
	}
	if s.KeySecret != "" && !declared(s.KeySecret) {
		return c.errorf("signing.keySecret", "undeclared secret %q in signing.keySecret (declare it under secrets)", s.KeySecret)
	}
	switch {
	case s.Keyless && (s.Key != "" || s.KeySecret != ""):
		return c.errorf("signing.keyless", "keyless signing signs alone: drop signing.key and signing.keySecret, or keyless")
	case !s.Keyless && (s.SigningConfig != "" || s.TrustedRoot != ""):
		return c.errorf("signing", "signingConfig and trustedRoot are for keyless signing: add keyless: true")
	case s.Keyless && (s.SigningConfig == "") != (s.TrustedRoot == ""):
		return c.errorf("signing", "give signingConfig and trustedRoot together (the instance to sign with and its trust root), or neither for the public-good instance")
	}
	return nil
}

// validateValueFrom checks a valueFrom at path (nil is fine).
func (c *Config) validateValueFrom(path string, vf *ValueFrom, declared func(string) bool) error {
	switch {
	case vf == nil:
		return nil
	case vf.Secret == "" && vf.Env == "":
		return c.errorf(path, "%s needs one of secret or env", path)
	case vf.Secret != "" && vf.Env != "":
		return c.errorf(path, "%s sets both secret and env; use one", path)
	case vf.Secret != "" && !declared(vf.Secret):
		return c.errorf(path+".secret", "undeclared secret %q in %s.secret (declare it under secrets)", vf.Secret, path)
	case vf.Env != "" && !validName(vf.Env):
		return c.errorf(path+".env", "invalid variable name %q in %s.env", vf.Env, path)
	}
	return nil
}

// validateDigest checks the values of a digest (nil is fine; the
// algorithms were checked while decoding) and turns them to lower case.
func (c *Config) validateDigest(path string, d Digest) error {
	if d == nil {
		return nil
	}
	if len(d) == 0 {
		return c.errorf(path, "%s is empty (want sha1, sha256 or sha512)", path)
	}
	// Check in a fixed order, so the error is always the same one.
	for _, alg := range []string{"sha1", "sha256", "sha512"} {
		v, ok := d[alg]
		if !ok {
			continue
		}
		if n := digestLengths[alg]; len(v) != n || !isHex(v) {
			return c.errorf(path+"."+alg, "invalid %s digest %q in %s.%s: want %d hexadecimal digits", alg, v, path, alg, n)
		}
		d[alg] = strings.ToLower(v)
	}
	return nil
}

// Validate checks a config built or changed in code the way Parse checks
// a file. Positions are those recorded by Parse, if any.
func (c *Config) Validate() error {
	if c.handlerKey == "" {
		c.handlerKey = "handler"
	}
	return c.validate()
}
