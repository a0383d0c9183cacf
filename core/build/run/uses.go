package run

import (
	"errors"
	"fmt"
	"sort"

	"github.com/mmbuild/mmbuild/core/build/config"
	"github.com/mmbuild/mmbuild/core/build/remote"
	"github.com/mmbuild/mmbuild/core/plugins/schema"
	"github.com/mmbuild/mmbuild/sdk/plugin"
)

// use is one use of a plugin in a config, and where each of its options is
// written (the use's own options:, or the credentials: entry of its URL).
// An option may be written both plainly (on the use) and as a credential
// (in the credentials: entry): each is kept apart, so that an error names
// the entry it is about.
type use struct {
	schema.Use
	where   string            // "materials[0]", for errors about the use
	written map[string]string // plain option → config path
	secret  map[string]string // option filled from a secret → config path
}

// at is the config path of the option err is about, else of the use.
func (u use) at(err error) string {
	var se *schema.Error
	if !errors.As(err, &se) {
		return u.where
	}
	at := u.written[se.Option]
	if se.Credential {
		at = u.secret[se.Option]
	}
	if at == "" {
		return u.where
	}
	return at
}

// InfoFunc returns the description (with the schemas) of the plugin
// serving kind ("handler:make", "storage:https").
type InfoFunc func(kind string) (*plugin.Info, error)

// CheckOptions checks every use of a plugin in cfg (the handler, each
// material, secret, destination, transfer and credential) against the
// schema its plugin publishes: what `mmbuild validate` and the run check
// before anything runs. Errors carry the option's position.
func CheckOptions(cfg *config.Config, info InfoFunc) error {
	return checkOptions(cfg, info, func(string) bool { return true })
}

// checkOptions is CheckOptions for the uses of the kinds which selects.
func checkOptions(cfg *config.Config, info InfoFunc, which func(kind string) bool) error {
	uses, err := configUses(cfg)
	if err != nil {
		return err
	}
	for _, u := range uses {
		if !which(u.Kind) {
			continue
		}
		in, err := info(u.Kind)
		if err != nil {
			return fmt.Errorf("%s: %s: %w", cfg.PositionOf(u.where), u.where, err)
		}
		if err := schema.Check(in, u.Use); err != nil {
			path := u.at(err)
			return fmt.Errorf("%s: %s: %w", cfg.PositionOf(path), path, err)
		}
	}
	return nil
}

// configUses lists the plugin uses of cfg in file order.
func configUses(cfg *config.Config) ([]use, error) {
	h := newUse("handler:"+cfg.Handler.ID, "handler")
	h.Params = cfg.Handler.Params
	addOptions(&h, "handler", cfg.Handler.Options)
	uses := []use{h}
	if cfg.SBOM != nil && cfg.SBOM.Generator != "" && cfg.SBOM.Generator != GeneratorNone {
		c := newUse("sbom:"+cfg.SBOM.Generator, "sbom")
		addOptions(&c, "sbom", cfg.SBOM.Options)
		uses = append(uses, c)
	}
	add := func(where, rawURL string, opts config.Options) error {
		u, err := storageUse(cfg, where, rawURL, opts)
		if err == nil {
			uses = append(uses, u)
		}
		return err
	}
	for i, s := range cfg.Secrets {
		scheme, _ := remote.Scheme(s.From, "")
		if s.From == "" || scheme == "env" || scheme == "file" {
			continue
		}
		if err := add(fmt.Sprintf("secrets[%d]", i), s.From, s.Options); err != nil {
			return nil, err
		}
	}
	for i, m := range cfg.Materials {
		if err := add(fmt.Sprintf("materials[%d]", i), m.URI, m.Options); err != nil {
			return nil, err
		}
		if m.Attestation != "" && m.Attestation != config.AttestationAttached {
			if err := add(fmt.Sprintf("materials[%d].attestation", i), m.Attestation, nil); err != nil {
				return nil, err
			}
		}
	}
	if cfg.Artifacts.Destination != "" {
		if err := add("artifacts", cfg.Artifacts.Destination, cfg.Artifacts.Options); err != nil {
			return nil, err
		}
	}
	for i, t := range cfg.Transfers {
		if err := add(fmt.Sprintf("transfers[%d]", i), t.Destination, t.Options); err != nil {
			return nil, err
		}
	}
	// A credential is checked on its own too: one that no URL uses yet must
	// still fit the plugin its prefix names.
	for i, c := range cfg.Credentials {
		u, err := storageUse(cfg, fmt.Sprintf("credentials[%d]", i), c.URL, nil)
		if err != nil {
			return nil, err
		}
		u.Partial = true
		uses = append(uses, u)
	}
	return uses, nil
}

// storageUse is the use of the storage plugin serving rawURL: opts, and the
// options of the credentials: entry whose prefix matches.
func storageUse(cfg *config.Config, where, rawURL string, opts config.Options) (use, error) {
	scheme, err := remote.Scheme(rawURL, where)
	if err != nil {
		return use{}, err
	}
	u := newUse("storage:"+scheme, where)
	addOptions(&u, where, opts)
	i := remote.MatchCredential(cfg.Credentials, rawURL)
	if i < 0 {
		return u, nil
	}
	c := cfg.Credentials[i]
	cp := fmt.Sprintf("credentials[%d]", i)
	plain := c.PlainOptions()
	for k := range plain {
		at := cp + ".options." + k
		if k == config.TokenHeaderOption && c.Header != "" {
			at = cp + ".header"
		}
		if _, both := u.Options[k]; both {
			return use{}, fmt.Errorf("%s: %s and %s both set option %s; keep one", cfg.PositionOf(at), at, u.written[k], k)
		}
		u.Options[k] = plain[k]
		u.written[k] = at
	}
	for opt := range c.SecretOptions() {
		u.Secret = append(u.Secret, opt)
		u.secret[opt] = cp + ".secrets." + opt
		if opt == config.TokenOption && c.Secret != "" {
			u.secret[opt] = cp + ".secret"
		}
	}
	sort.Strings(u.Secret)
	return u, nil
}

func newUse(kind, where string) use {
	return use{Use: schema.Use{Kind: kind, Options: map[string]string{}}, where: where, written: map[string]string{}, secret: map[string]string{}}
}

func addOptions(u *use, where string, opts config.Options) {
	for k, v := range opts {
		u.Options[k] = v
		u.written[k] = where + ".options." + k
	}
}

// infoOf answers InfoFunc from the started plugins.
func (ps *plugins) infoOf(kind string) (*plugin.Info, error) {
	if kind == "handler:"+ps.handlerID && ps.handler != nil {
		return ps.handler.Info, nil
	}
	if ps.cataloger != nil && kind == "sbom:"+ps.catalogerID {
		return ps.cataloger.Info, nil
	}
	for scheme, p := range ps.storages {
		if kind == "storage:"+scheme {
			return p.Info, nil
		}
	}
	return nil, fmt.Errorf("no started plugin serves %s", kind)
}
