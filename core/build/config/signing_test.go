package config

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseSigning(t *testing.T) {
	const head = "handler: {id: make}\nartifacts: {files: [a]}\n"
	for _, tc := range []struct {
		name, yaml string
		want       *Signing
		err        string
	}{
		{"key file", "signing: {key: mmbuild.key}\n", &Signing{Key: "mmbuild.key"}, ""},
		{"KMS key", "signing: {key: 'awskms://127.0.0.1:4566/alias/release'}\n", &Signing{Key: "awskms://127.0.0.1:4566/alias/release"}, ""},
		{"keyless", "signing: {keyless: true}\n", &Signing{Keyless: true}, ""},
		{"keyless, own instance", "signing: {keyless: true, signingConfig: sigstore/signing_config.json, trustedRoot: sigstore/trusted_root.json}\n",
			&Signing{Keyless: true, SigningConfig: "sigstore/signing_config.json", TrustedRoot: "sigstore/trusted_root.json"}, ""},
		{"keyless and a key", "signing: {keyless: true, key: mmbuild.key}\n", nil, "a.yaml:3:20: keyless signing signs alone"},
		{"instance without keyless", "signing: {key: a.key, trustedRoot: r.json}\n", nil, "add keyless: true"},
		{"half an instance", "signing: {keyless: true, trustedRoot: r.json}\n", nil, "give signingConfig and trustedRoot together"},
		{"keyless not a bool", "signing: {keyless: sure}\n", nil, "keyless"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := parseOrFail(t, head+tc.yaml, tc.err)
			if c == nil {
				return
			}
			c.Signing.Pos = Position{}
			if !reflect.DeepEqual(c.Signing, tc.want) {
				t.Errorf("signing = %+v, want %+v", c.Signing, tc.want)
			}
		})
	}
}

func TestParseMaterialIdentities(t *testing.T) {
	const head = "handler: {id: make}\nartifacts: {files: [a]}\nmaterials:\n  - uri: https://example.com/lib.tgz\n"
	for _, tc := range []struct {
		name, yaml string
		err        string
	}{
		{"identities", "    attestation: https://example.com/lib.tgz.sigstore.json\n    identities: [{issuer: https://token.actions.githubusercontent.com, subjectRegexp: '^https://github.com/org/lib/', ref: refs/heads/main}]\n    trustedRoot: trusted_root.json\n", ""},
		{"no subject", "    attestation: https://example.com/a.json\n    identities: [{issuer: https://gitlab.com}]\n", "a.yaml:6:18: materials[0].identities[0]: no subject"},
		{"bad regexp", "    attestation: https://example.com/a.json\n    identities: [{issuer: x, subjectRegexp: '('}]\n", "regular expression"},
		{"unknown key", "    attestation: https://example.com/a.json\n    identities: [{issuer: x, subject: y, owner: z}]\n", "owner"},
		{"no attestation", "    identities: [{issuer: x, subject: y}]\n", "give attestation too"},
		{"root without identities", "    attestation: https://example.com/a.json\n    trustedRoot: r.json\n", "no identities to verify under it"},
		{"attached with identities", "    attestation: attached\n    identities: [{issuer: x, subject: y}]\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := parseOrFail(t, head+tc.yaml, tc.err)
			if c == nil {
				return
			}
			if len(c.Materials[0].Identities) != 1 {
				t.Fatalf("identities %+v", c.Materials[0].Identities)
			}
		})
	}
}

// parseOrFail parses a config that must fail with an error holding want
// (then it returns nil), or parse when want is "".
func parseOrFail(t *testing.T, yaml, want string) *Config {
	t.Helper()
	c, err := Parse("a.yaml", []byte(yaml))
	if want != "" {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("error %v, want one with %q", err, want)
		}
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return c
}
