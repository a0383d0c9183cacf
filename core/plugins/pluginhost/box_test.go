package pluginhost

import (
	"slices"
	"testing"
)

// A boxed plugin's environment holds what a program needs to run, never
// the core's credentials and settings.
func TestBoxEnvKeepsNoCredential(t *testing.T) {
	got := boxEnv([]string{
		"PATH=/usr/bin", "HOME=/home/u", "LANG=C", "MMBUILD_PLUGIN_LOG_LEVEL=debug",
		"AWS_SECRET_ACCESS_KEY=k", "MMBUILD_BUILDER_ID=x", "HTTPS_PROXY=http://user:pw@proxy", "SSL_CERT_FILE=/x",
	})
	want := []string{"PATH=/usr/bin", "HOME=/home/u", "LANG=C", "MMBUILD_PLUGIN_LOG_LEVEL=debug"}
	if !slices.Equal(got, want) {
		t.Errorf("boxEnv = %q, want %q", got, want)
	}
}
