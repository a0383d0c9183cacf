package run

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/core/build/config"
	"github.com/mmbuild/mmbuild/core/build/redact"
)

func strp(s string) *string { return &s }

func TestApplyReplacements(t *testing.T) {
	tests := []struct {
		name    string
		reps    []config.Replacement
		want    string // version.go afterwards
		wantErr string
	}{
		{
			name: "value, then a later one sees the earlier result",
			reps: []config.Replacement{
				{Paths: []string{"version.go"}, Tag: "%V%", Value: strp("1.2.%P%")},
				{Paths: []string{"version.go"}, Tag: "%P%", Value: strp("3")},
			},
			want: `const v = "1.2.3"`,
		},
		{
			name: "secret and env",
			reps: []config.Replacement{
				{Paths: []string{"version.go"}, Tag: "%V%", ValueFrom: &config.ValueFrom{Secret: "S"}},
			},
			want: `const v = "secret-value"`,
		},
		{
			name: "all or nothing: a refused second replacement leaves the file as it was",
			reps: []config.Replacement{
				{Paths: []string{"version.go"}, Tag: "%V%", Value: strp("9")},
				{Paths: []string{"version.go"}, Tag: "%NOPE%", Value: strp("x"), Required: true},
			},
			want:    `const v = "%V%"`,
			wantErr: `replacements[1]: tag "%NOPE%" not found`,
		},
		{
			name:    "required path missing",
			reps:    []config.Replacement{{Paths: []string{"gone.go"}, Tag: "x", Value: strp("y"), RequiredPaths: true}},
			want:    `const v = "%V%"`,
			wantErr: "gone.go does not exist (requiredPaths)",
		},
		{
			name:    "path leaving the work tree",
			reps:    []config.Replacement{{Paths: []string{"../outside"}, Tag: "x", Value: strp("y")}},
			want:    `const v = "%V%"`,
			wantErr: "replacements[0]: path",
		},
		{
			name:    "undeclared secret",
			reps:    []config.Replacement{{Paths: []string{"version.go"}, Tag: "%V%", ValueFrom: &config.ValueFrom{Secret: "NOPE"}}},
			want:    `const v = "%V%"`,
			wantErr: `secret "NOPE" is not declared`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "version.go")
			write(t, path, `const v = "%V%"`)
			if err := os.Chmod(path, 0o640); err != nil {
				t.Fatal(err)
			}
			tl := tools{log: newOptions(nil).logger, red: redact.New()}
			err := applyReplacements(tl, dir, tt.reps, map[string]string{"S": "secret-value"}, environ{})
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			got, _ := os.ReadFile(path)
			if string(got) != tt.want {
				t.Fatalf("version.go = %q, want %q", got, tt.want)
			}
			if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o640 {
				t.Fatalf("mode %v, want 0640 kept", fi.Mode().Perm())
			}
		})
	}
}
