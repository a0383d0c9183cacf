package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mmbuild/mmbuild/core/evidence/signing"
)

func newKeysCmd(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Create the keys that sign attestations",
		Long: `Attestations are signed as DSSE envelopes with a private key (PKCS#8 PEM) and
verified with its public key (PKIX PEM, the format cosign reads with --key).
A key id is the hex sha256 of the public key's DER encoding:

  openssl pkey -pubin -in mmbuild.pub -outform DER | sha256sum`,
	}
	cmd.AddCommand(newKeysGenerateCmd(g))
	return cmd
}

type keysGenerateOptions struct {
	out     string
	keyType string
	force   bool
	json    bool
}

func newKeysGenerateCmd(g *globalOptions) *cobra.Command {
	o := &keysGenerateOptions{}
	types := make([]string, 0, 3)
	for _, a := range signing.Algorithms() {
		types = append(types, string(a))
	}
	cmd := &cobra.Command{
		Use:   "generate",
		Short: "Generate a key pair: PREFIX.key (private) and PREFIX.pub (public)",
		Long: `Generate a signing key pair and write PREFIX.key (the private key, PKCS#8 PEM,
mode 0600) and PREFIX.pub (the public key, PKIX PEM, mode 0644), by default
mmbuild.key and mmbuild.pub in the current folder. Existing files are never
replaced unless --force is given. Prints the key id.

The private key is not encrypted: keep it in your CI's secret store and hand
it to mmbuild as a secret. Publish the .pub for whoever verifies your builds
(mmbuild verify --key, or cosign verify-blob-attestation --key for ecdsa-p256
and ed25519 keys).`,
		Example: `  mmbuild keys generate
  mmbuild keys generate --out ci/release --type ed25519`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return generateKeys(g, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.out, "out", "mmbuild", "path prefix of the two files written: PREFIX.key and PREFIX.pub")
	f.StringVar(&o.keyType, "type", string(signing.DefaultAlgorithm), "key type: "+strings.Join(types, ", "))
	f.BoolVar(&o.force, "force", false, "replace existing files")
	f.BoolVar(&o.json, "json", false, "print the result as JSON")
	return cmd
}

func generateKeys(g *globalOptions, o *keysGenerateOptions) error {
	alg, err := signing.ParseAlgorithm(o.keyType)
	if err != nil {
		return usageError{fmt.Errorf("--type: %w", err)}
	}
	if o.out == "" {
		return usageError{fmt.Errorf("--out: empty prefix")}
	}
	kp, err := signing.WriteKeyPair(o.out, alg, o.force)
	if err != nil {
		return err
	}
	if o.json {
		return json.NewEncoder(g.stdout).Encode(kp)
	}
	fmt.Fprintf(g.stdout, "wrote %s (private, keep it secret) and %s\n%s key id %s\n", kp.PrivatePath, kp.PublicPath, kp.Algorithm, kp.KeyID)
	return nil
}
