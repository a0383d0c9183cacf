package schema

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/plugins/handler-make/makehandler"
	"github.com/mmbuild/mmbuild/sdk/plugin"
)

func TestCheck(t *testing.T) {
	cas, err := os.ReadFile("testdata/cas.json")
	if err != nil {
		t.Fatal(err)
	}
	info := &plugin.Info{Name: "cas", ConfigSchema: map[string]json.RawMessage{
		"storage:cas":  cas,
		"handler:make": makehandler.New().ConfigSchema(), // the real make handler's schema
		"storage:req":  json.RawMessage(`{"type":"object","properties":{"token":{"type":"string","writeOnly":true}},"required":["token"],"additionalProperties":false}`),
	}}
	tests := []struct {
		name   string
		use    Use
		option string // the option the error names
		want   string // "" for no error
	}{
		{"valid", Use{Kind: "storage:cas", Options: map[string]string{"root": "/srv", "retries": "3", "verify": "true"}, Secret: []string{"token"}}, "", ""},
		{"unknown option", Use{Kind: "storage:cas", Options: map[string]string{"root": "/srv", "colour": "red"}}, "colour", "unknown option (the plugin takes: retries, root, token, username, verify)"},
		{"wrong type", Use{Kind: "storage:cas", Options: map[string]string{"root": "/srv", "retries": "many"}}, "retries", "got string, want integer"},
		{"out of range", Use{Kind: "storage:cas", Options: map[string]string{"root": "/srv", "retries": "11"}}, "retries", "maximum"},
		{"required missing", Use{Kind: "storage:cas", Options: map[string]string{}}, "", "missing property 'root'"},
		{"secret as a plain option", Use{Kind: "storage:cas", Options: map[string]string{"root": "/srv", "token": "abc"}}, "token", "is a credential"},
		{"secret into a non-writeOnly option", Use{Kind: "storage:cas", Options: map[string]string{"root": "/srv"}, Secret: []string{"username"}}, "username", "does not mark option username writeOnly"},
		{"secret into an undeclared option", Use{Kind: "storage:cas", Options: map[string]string{"root": "/srv"}, Secret: []string{"password"}}, "password", "declares no option password to receive a credential (it takes: token)"},
		{"credential checked on its own: names only", Use{Kind: "storage:cas", Secret: []string{"token"}, Partial: true}, "", ""},
		{"credential on its own: unknown plain option", Use{Kind: "storage:cas", Options: map[string]string{"realm": "x"}, Secret: []string{"token"}, Partial: true}, "realm", "unknown option"},
		{"required option filled from a secret", Use{Kind: "storage:req", Secret: []string{"token"}}, "", ""},
		{"no schema for the kind", Use{Kind: "storage:other", Options: map[string]string{"x": "1"}}, "x", "publishes no schema for storage:other"},
		{"no schema and no options", Use{Kind: "storage:other"}, "", ""},
		{"make: jobs and file", Use{Kind: "handler:make", Params: []string{"all"}, Options: map[string]string{"jobs": "4", "file": "build.mk"}}, "", ""},
		{"make: unknown option", Use{Kind: "handler:make", Options: map[string]string{"color": "1"}}, "color", "unknown option (the plugin takes: file, jobs)"},
		{"make: bad jobs", Use{Kind: "handler:make", Options: map[string]string{"jobs": "0"}}, "jobs", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check(info, tt.use)
			if tt.want == "" && tt.option == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			var se *Error
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want a *schema.Error", err)
			}
			if se.Option != tt.option || !strings.Contains(se.Msg, tt.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("option %q msg %q; want option %q and %q on one line", se.Option, se.Msg, tt.option, tt.want)
			}
		})
	}
}
