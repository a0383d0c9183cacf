package provenance

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mmbuild/mmbuild/core/build/isolation"
	"github.com/mmbuild/mmbuild/core/evidence/cifacts"
)

var update = flag.Bool("update", false, "rewrite the golden statements")

// full is a build that records every fact the model has, per-run facts
// included.
func full() Build {
	b := sample()
	b.Run.BuilderID = "https://ci.example.com/runner/7"
	b.Config = BuildConfig{
		StagingKey: "k", Cacheable: true, StagingURL: "s3://bucket/app/k", SourceDirty: true,
		Transfers:      []Transfer{{Destination: "s3://releases/x/", Files: []string{"a.tar.gz"}}},
		Images:         []Image{{URL: "oci://r.example.com/app:v1", Name: "r.example.com/app", Digest: "sha256:" + strings.Repeat("c", 64)}},
		StorageOptions: map[string]map[string]string{"materials[0]": {"region": "eu"}},
		Isolation:      &isolation.Applied{Mode: isolation.ModeAuto, Mechanism: "bubblewrap", Namespaces: []string{"user", "pid"}, Network: isolation.NetworkHost, Hidden: []string{"/k.pem"}},
	}
	b.Run.CI = &cifacts.Facts{Platform: cifacts.GitLab, Server: "https://gitlab.example.com", JobURL: "https://gitlab.example.com/g/p/-/jobs/9", RunnerKind: cifacts.SelfHosted}
	return b
}

// The statements of both formats are byte for byte what earlier versions
// wrote for the same build (testdata/golden-*.json), and read back into
// the same typed model.
func TestGoldenStatements(t *testing.T) {
	for _, f := range formats {
		t.Run(string(f), func(t *testing.T) {
			b := full()
			got, err := Encode(b, f)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", "golden-"+string(f)+".json")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("the statement changed:\n%s\nwant:\n%s", got, want)
			}
			checkRoundTrip(t, b, got)
		})
	}
}

// checkRoundTrip reads data back and compares the typed model with b.
func checkRoundTrip(t *testing.T, b Build, data []byte) {
	t.Helper()
	rec, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(rec.Config, b.Config) {
		t.Errorf("buildConfig read back as %+v, want %+v", rec.Config, b.Config)
	}
	if !reflect.DeepEqual(rec.CI, b.Run.CI) {
		t.Errorf("CI read back as %+v, want %+v", rec.CI, b.Run.CI)
	}
	if rec.BuilderID != b.Run.BuilderID || rec.InvocationID != b.Run.InvocationID ||
		!rec.Started.Equal(b.Run.Started) || !rec.Finished.Equal(b.Run.Finished) {
		t.Errorf("run facts read back as %s %s %v %v, want %+v", rec.BuilderID, rec.InvocationID, rec.Started, rec.Finished, b.Run)
	}
}

// A statement mmbuild writes with a malformed or unknown buildConfig entry
// is refused by the one reader, in one line.
func TestBuildConfigRefusals(t *testing.T) {
	for _, f := range formats {
		data, err := Encode(full(), f)
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range [][2]string{
			{`"mode": "auto"`, `"mode": "sometimes"`},
			{`"network": "host"`, `"network": "lan"`},
			{`"platform": "gitlab"`, `"platform": ""`},
			{`"sourceDirty": true`, `"sourceDirty": true, "shell": "sh"`},
			{`"stagingKey": "k"`, `"stagingKey": 7`},
		} {
			bad := strings.Replace(string(data), tc[0], tc[1], 1)
			if bad == string(data) {
				t.Fatalf("%s: %s not in the statement", f, tc[0])
			}
			if _, err := Decode([]byte(bad)); err == nil || strings.Contains(err.Error(), "\n") {
				t.Errorf("%s: Decode with %s = %v", f, tc[1], err)
			}
		}
	}
}

// Times not known (a build mmbuild did not run) are not recorded, in
// either format, rather than recorded as the zero time.
func TestUnknownTimesNotRecorded(t *testing.T) {
	for _, f := range formats {
		b := sample()
		b.Run.Started, b.Run.Finished = time.Time{}, time.Time{}
		data, err := Encode(b, f)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(data, []byte("0001-01-01")) || bytes.Contains(data, []byte("StartedOn")) || bytes.Contains(data, []byte("startedOn")) {
			t.Fatalf("%s: zero times recorded:\n%s", f, data)
		}
		rec, err := Decode(data)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Started != nil || rec.Finished != nil {
			t.Fatalf("%s: times read back %v %v", f, rec.Started, rec.Finished)
		}
	}
}

// Every network a box records reads back, no-tcp too (a landlock box's
// none, which is recorded and never asked for).
func TestRecordedNetworksReadBack(t *testing.T) {
	for _, n := range []isolation.Network{isolation.NetworkHost, isolation.NetworkNone, isolation.NetworkNoTCP} {
		for _, f := range formats {
			b := full()
			b.Config.Isolation.Network = n
			data, err := Encode(b, f)
			if err != nil {
				t.Fatal(err)
			}
			rec, err := Decode(data)
			if err != nil || rec.Config.Isolation.Network != n {
				t.Errorf("%s, network %s: %v", f, n, err)
			}
		}
	}
}
