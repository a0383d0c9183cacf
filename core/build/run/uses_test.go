package run

import (
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/core/build/config"
	"github.com/mmbuild/mmbuild/plugins/storage-file/filestore"
)

// CheckOptions against the real make handler's and file store's schemas,
// as they answer Info over gRPC.
func TestCheckOptions(t *testing.T) {
	info := infoFunc(t, filestore.New())
	tests := []checkOptionsCase{
		{"valid", "handler: {id: make, options: {jobs: 2}}\n", ""},
		{"unknown handler option", "handler: {id: make, options: {colour: red}}\n", "mmbuild.yaml:1:39: handler.options.colour: option colour: plugin make (handler:make): unknown option (the plugin takes: file, jobs)"},
		{"bad jobs", "handler: {id: make, options: {jobs: -1}}\n", "mmbuild.yaml:1:37: handler.options.jobs: option jobs: plugin make (handler:make)"},
		{"material option the file store does not take", "handler: {id: make}\nmaterials:\n  - uri: file:///m/a\n    options: {timeout: 1s}\n", "mmbuild.yaml:4:24: materials[0].options.timeout: option timeout: plugin file (storage:file): unknown option (the plugin takes: no options)"},
		{"a use and its credentials entry both set an option", "handler: {id: make}\nmaterials:\n  - uri: file:///m/a\n    options: {root: /a}\nsecrets: [{name: TOKEN}]\ncredentials:\n  - url: file:///m/\n    secret: TOKEN\n    options: {root: /b}\n", "mmbuild.yaml:9:21: credentials[0].options.root and materials[0].options.root both set option root; keep one"},
		{"credential the file store cannot take", "handler: {id: make}\nsecrets: [{name: TOKEN}]\ncredentials:\n  - url: file:///m/\n    secret: TOKEN\n", "mmbuild.yaml:5:13: credentials[0].secret: option token: plugin file (storage:file)"},
	}
	checkOptionsCases(t, info, tests)
}

// A use may give an option plainly and its credentials: entry the same
// option from a secret: the error points at the one that is wrong, here
// against the file store behind a credential (a writeOnly token), as it
// answers Info over gRPC.
func TestCheckOptionsCredentialPositions(t *testing.T) {
	info := infoFunc(t, guardedStore{files: filestore.New()})
	const handler = "handler: {id: make}\n"
	const creds = "secrets: [{name: TOKEN}]\ncredentials:\n  - url: file:///m/\n"
	tests := []checkOptionsCase{
		{"credential the store takes", handler + "materials:\n  - uri: file:///m/a\n" + creds + "    secret: TOKEN\n", ""},
		{"plain token on the material", handler + "materials:\n  - uri: file:///m/a\n    options: {token: abc}\n" + creds + "    secret: TOKEN\n",
			"mmbuild.yaml:4:22: materials[0].options.token: option token: plugin file (storage:file): is a credential"},
		{"credential under a name the store does not take", handler + "materials:\n  - uri: file:///m/a\n    options: {token: abc}\n" + creds + "    secrets: {password: TOKEN}\n",
			"mmbuild.yaml:4:22: materials[0].options.token: option token: plugin file (storage:file): is a credential"},
		{"credential under a name the store does not take, nothing plain", handler + "materials:\n  - uri: file:///m/a\n" + creds + "    secrets: {password: TOKEN}\n",
			"mmbuild.yaml:7:25: credentials[0].secrets.password: option password: plugin file (storage:file): the plugin declares no option password"},
	}
	checkOptionsCases(t, info, tests)
}

// checkOptionsCase is a config (without its artifacts) and the error
// CheckOptions must give for it ("" for none).
type checkOptionsCase struct {
	name, yaml, want string
}

func checkOptionsCases(t *testing.T, info InfoFunc, tests []checkOptionsCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := config.Parse("mmbuild.yaml", []byte(tt.yaml+"artifacts: {files: [x]}\n"))
			if err != nil {
				t.Fatal(err)
			}
			err = CheckOptions(cfg, info)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v\nwant %q", err, tt.want)
			}
		})
	}
}
