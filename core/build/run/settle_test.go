package run

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/core/build/config"
	"github.com/mmbuild/mmbuild/core/build/isolation"
	"github.com/mmbuild/mmbuild/core/evidence/signing"
)

// The plan settles, once, what the stages used to read from the options:
// the environment (only the variables a run reads), the box asked for,
// the work tree, the cache and digest policy, and how the run signs.
func TestPlanSettles(t *testing.T) {
	running := map[string]string{
		"HOME": "/home/u", "PATH": "/bin", "PASS": "p", "FROM": "f", "REP": "r", "TOKEN": "t", "OTHER": "o",
		"SIGSTORE_ID_TOKEN": "jwt", "UNRELATED": "u", "GITHUB_OUTPUT": "/gh/out",
	}
	lookup := func(k string) (string, bool) { v, ok := running[k]; return v, ok }
	const envYAML = `env:
  - var: PASS
  - var: X
    valueFrom: {env: FROM}
replacements:
  - paths: [v.go]
    tag: "%V%"
    valueFrom: {env: REP}
secrets:
  - name: TOKEN
  - name: S2
    from: env://OTHER
  - name: S3
    from: file:///run/s3
`
	tests := []struct {
		name string
		yaml string
		opts []Option
		// check returns what is wrong with p, "" for nothing.
		check func(p *plan) string
	}{
		{"defaults", "", nil, func(p *plan) string {
			switch {
			case p.force || p.requireDigests || !p.baseEnv || p.workDir != "":
				return "force, requireDigests, no base env or a workDir without options"
			case p.box.Mode != isolation.ModeAuto || p.box.Network != isolation.NetworkHost:
				return "box " + string(p.box.Mode) + "/" + string(p.box.Network)
			case p.signing.keyless != nil || len(p.signing.signers) != 0 || p.signing.tokenFile != "":
				return "signing without asking for it"
			case p.outputs.github != "/gh/out":
				return "GITHUB_OUTPUT " + p.outputs.github
			}
			return ""
		}},
		{"the environment the config names, and no more", envYAML, nil, func(p *plan) string {
			got := slices.Sorted(maps.Keys(p.running))
			want := []string{"FROM", "HOME", "OTHER", "PASS", "PATH", "REP", "SIGSTORE_ID_TOKEN", "TOKEN"}
			if !slices.Equal(got, want) {
				return "running " + strings.Join(got, ",") + ", want " + strings.Join(want, ",")
			}
			return ""
		}},
		{"options over the config", "isolation: {mode: required, network: host}\n", []Option{
			WithForce(true), WithRequireDigests(true), WithWorkDir("sub"), WithoutBaseEnv(),
			WithIsolation(isolation.ModeOff, isolation.NetworkNone), WithHiddenFiles("/k/sign.key"),
		}, func(p *plan) string {
			switch {
			case !p.force || !p.requireDigests || p.baseEnv || p.workDir != "sub":
				return "an option not settled"
			case p.box.Mode != isolation.ModeOff || p.box.Network != isolation.NetworkNone:
				return "box " + string(p.box.Mode) + "/" + string(p.box.Network)
			case !slices.Equal(p.hidden, []string{"/k/sign.key"}):
				return "hidden " + strings.Join(p.hidden, ",")
			}
			return ""
		}},
		{"the config's box", "isolation: {mode: required, network: none}\n", nil, func(p *plan) string {
			if p.box.Mode != isolation.ModeRequired || p.box.Network != isolation.NetworkNone {
				return "box " + string(p.box.Mode) + "/" + string(p.box.Network)
			}
			return ""
		}},
		{"--keyless", "", []Option{WithKeyless(signing.KeylessConfig{TokenFile: "/t/token"}, true)}, func(p *plan) string {
			kc := p.signing.keyless
			switch {
			case kc == nil || p.signing.keylessWhere != "--keyless" || p.signing.tokenFile != "/t/token":
				return "not keyless by --keyless"
			case kc.LookupEnv == nil:
				return "no environment for the token"
			}
			if v, _ := kc.LookupEnv(signing.TokenEnv); v != "jwt" {
				return "token " + v
			}
			return ""
		}},
		{"the config's keyless", "signing: {keyless: true, signingConfig: sc.json, trustedRoot: /r/root.json}\n", nil, func(p *plan) string {
			kc := p.signing.keyless
			switch {
			case kc == nil || !strings.HasSuffix(p.signing.keylessWhere, ": signing.keyless"):
				return "not keyless by signing.keyless"
			case kc.SigningConfig != "/p/sc.json" || kc.TrustedRoot != "/r/root.json":
				return "signing config " + kc.SigningConfig
			}
			return ""
		}},
		{"a token file without keyless is still hidden", "", []Option{WithKeyless(signing.KeylessConfig{TokenFile: "/t/token"}, false)}, func(p *plan) string {
			if p.signing.keyless != nil || p.signing.tokenFile != "/t/token" {
				return "keyless or no token file"
			}
			return ""
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := config.Parse("/p/mmbuild.yaml", []byte("handler: {id: make}\nartifacts: {files: [x]}\n"+tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			p := &plan{}
			if err := p.settle(cfg, newOptions(append([]Option{WithLookupEnv(lookup)}, tt.opts...))); err != nil {
				t.Fatal(err)
			}
			if bad := tt.check(p); bad != "" {
				t.Fatal(bad)
			}
		})
	}
}
