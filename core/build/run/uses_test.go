package run

import (
	"context"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/core/build/config"
	"github.com/mmbuild/mmbuild/plugins/handler-make/makehandler"
	"github.com/mmbuild/mmbuild/plugins/storage-file/filestore"
	"github.com/mmbuild/mmbuild/sdk/plugin"
	"github.com/mmbuild/mmbuild/sdk/sdktest"
)

// CheckOptions against the real make handler's and file store's schemas,
// as they answer Info over gRPC.
func TestCheckOptions(t *testing.T) {
	ctx := context.Background()
	fileInfo, err := sdktest.Serve(t, plugin.WithName("file"), plugin.WithStorage("file", filestore.New())).Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	makeInfo, err := sdktest.Serve(t, plugin.WithName("make"), plugin.WithHandler("make", makehandler.New())).Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	info := func(kind string) (*plugin.Info, error) {
		if strings.HasPrefix(kind, "handler:") {
			return makeInfo, nil
		}
		return fileInfo, nil
	}
	tests := []struct {
		name, yaml, want string
	}{
		{"valid", "handler: {id: make, options: {jobs: 2}}\n", ""},
		{"unknown handler option", "handler: {id: make, options: {colour: red}}\n", "mmbuild.yaml:1:39: handler.options.colour: option colour: plugin make (handler:make): unknown option (the plugin takes: file, jobs)"},
		{"bad jobs", "handler: {id: make, options: {jobs: -1}}\n", "mmbuild.yaml:1:37: handler.options.jobs: option jobs: plugin make (handler:make)"},
		{"material option the file store does not take", "handler: {id: make}\nmaterials:\n  - uri: file:///m/a\n    options: {timeout: 1s}\n", "mmbuild.yaml:4:24: materials[0].options.timeout: option timeout: plugin file (storage:file): unknown option (the plugin takes: no options)"},
		{"a use and its credentials entry both set an option", "handler: {id: make}\nmaterials:\n  - uri: file:///m/a\n    options: {root: /a}\nsecrets: [{name: TOKEN}]\ncredentials:\n  - url: file:///m/\n    secret: TOKEN\n    options: {root: /b}\n", "mmbuild.yaml:9:21: credentials[0].options.root and materials[0].options.root both set option root; keep one"},
		{"credential the file store cannot take", "handler: {id: make}\nsecrets: [{name: TOKEN}]\ncredentials:\n  - url: file:///m/\n    secret: TOKEN\n", "mmbuild.yaml:5:13: credentials[0].secret: option token: plugin file (storage:file)"},
	}
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
