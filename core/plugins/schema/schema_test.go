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
		"storage:defs": json.RawMessage(`{"$schema":"https://json-schema.org/draft/2020-12/schema","$defs":{"port":{"type":"integer","minimum":1,"maximum":65535}},"type":"object","properties":{"port":{"$ref":"#/$defs/port"}},"patternProperties":{"^x-":{"type":"string"}},"additionalProperties":false}`),
		"storage:open": json.RawMessage(`{"type":"object","properties":{"n":{"type":"number"}},"dependentRequired":{"n":["m"]}}`),
		"storage:old":  json.RawMessage(`{"$schema":"http://json-schema.org/draft-04/schema#","type":"object","properties":{"a":{"type":"string"}}}`),
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
		{"wrong type", Use{Kind: "storage:cas", Options: map[string]string{"root": "/srv", "retries": "many"}}, "retries", `has type "string", want "integer"`},
		{"out of range", Use{Kind: "storage:cas", Options: map[string]string{"root": "/srv", "retries": "11"}}, "retries", "maximum"},
		{"required missing", Use{Kind: "storage:cas", Options: map[string]string{}}, "", `required: missing properties: ["root"]`},
		{"secret as a plain option", Use{Kind: "storage:cas", Options: map[string]string{"root": "/srv", "token": "abc"}}, "token", "is a credential"},
		{"secret into a non-writeOnly option", Use{Kind: "storage:cas", Options: map[string]string{"root": "/srv"}, Secret: []string{"username"}}, "username", "does not mark option username writeOnly"},
		{"secret into an undeclared option", Use{Kind: "storage:cas", Options: map[string]string{"root": "/srv"}, Secret: []string{"password"}}, "password", "declares no option password to receive a credential (it takes: token)"},
		{"credential checked on its own: names only", Use{Kind: "storage:cas", Secret: []string{"token"}, Partial: true}, "", ""},
		{"credential on its own: unknown plain option", Use{Kind: "storage:cas", Options: map[string]string{"realm": "x"}, Secret: []string{"token"}, Partial: true}, "realm", "unknown option"},
		{"required option filled from a secret", Use{Kind: "storage:req", Secret: []string{"token"}}, "", ""},
		{"a property through $defs", Use{Kind: "storage:defs", Options: map[string]string{"port": "8080", "x-trace": "on"}}, "", ""},
		{"a $defs property out of range", Use{Kind: "storage:defs", Options: map[string]string{"port": "70000"}}, "port", "maximum"},
		{"an integer given a fraction", Use{Kind: "storage:defs", Options: map[string]string{"port": "80.5"}}, "port", "integer"},
		{"a name no pattern matches", Use{Kind: "storage:defs", Options: map[string]string{"y-trace": "on"}}, "y-trace", "unknown option (the plugin takes: port)"},
		{"an open schema takes unknown options", Use{Kind: "storage:open", Options: map[string]string{"n": "1.5", "m": "x", "other": "y"}}, "", ""},
		{"a rule across options names none", Use{Kind: "storage:open", Options: map[string]string{"n": "1.5"}}, "", "dependentRequired"},
		{"a draft the validator does not take", Use{Kind: "storage:old", Options: map[string]string{"a": "x"}}, "", "its schema cannot be used"},
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
