package config

import "strings"

// validate checks what the schema walk cannot: required values, names,
// references between entries, digests, and the ${…} syntax of every string
// Expand will rewrite. It normalizes digests and commits to lower case.
func (c *Config) validate() error {
	hk := c.handlerKey
	if c.Handler.ID == "" {
		return c.errorf(hk+".id", "%s.id is required", hk)
	}

	secrets := map[string]int{}
	for i, s := range c.Secrets {
		p := indexPath("secrets", i)
		switch first, dup := secrets[s.Name]; {
		case s.Name == "":
			return c.errorf(p+".name", "%s.name is required", p)
		case !validName(s.Name):
			return c.errorf(p+".name", "invalid secret name %q in %s.name (want letters, digits and _, not starting with a digit)", s.Name, p)
		case dup:
			return c.errorf(p+".name", "duplicate secret %q in %s.name (first declared in %s)", s.Name, p, indexPath("secrets", first))
		}
		secrets[s.Name] = i
	}
	declared := func(name string) bool { _, ok := secrets[name]; return ok }

	if s := c.Source; s != nil {
		if s.Commit != "" && s.Ref != "" {
			return c.errorf("source.ref", "source.commit and source.ref are both set; use one")
		}
		if s.CredentialsSecret != "" && !declared(s.CredentialsSecret) {
			return c.errorf("source.credentialsSecret", "undeclared secret %q in source.credentialsSecret (declare it under secrets)", s.CredentialsSecret)
		}
	}

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

	for i := range c.Materials {
		if err := c.validateDigest(indexPath("materials", i)+".digest", c.Materials[i].Digest); err != nil {
			return err
		}
	}

	if len(c.Artifacts.Images) > 0 {
		return c.errorf("artifacts.images", "container images are not supported yet (artifacts.images)")
	}

	for i, t := range c.Transfers {
		if p := indexPath("transfers", i); len(t.Source) == 0 {
			return c.errorf(p+".source", "%s.source needs at least one file", p)
		}
	}

	for i, cr := range c.Credentials {
		p := indexPath("credentials", i)
		switch {
		case cr.URL == "":
			return c.errorf(p+".url", "%s.url is required (a URL prefix such as https://artifacts.example.com/)", p)
		case !strings.Contains(cr.URL, "://"):
			return c.errorf(p+".url", "%s.url %q is not a URL", p, cr.URL)
		case cr.Secret == "":
			return c.errorf(p+".secret", "%s.secret is required (the name of a declared secret)", p)
		case !declared(cr.Secret):
			return c.errorf(p+".secret", "undeclared secret %q in %s.secret (declare it under secrets)", cr.Secret, p)
		case strings.ContainsAny(cr.Header, ": \r\n"):
			return c.errorf(p+".header", "%s.header %q must be a header name", p, cr.Header)
		}
	}

	if s := c.Signing; s != nil && s.KeySecret != "" && !declared(s.KeySecret) {
		return c.errorf("signing.keySecret", "undeclared secret %q in signing.keySecret (declare it under secrets)", s.KeySecret)
	}

	return c.checkReferences()
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
