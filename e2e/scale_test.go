package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mmbuild/mmbuild/internal/testenv"
	"github.com/mmbuild/mmbuild/internal/testservers"
)

// Many runners, one store: 16 runs at once against one versitygw, 8 of one
// staging key (each building other bytes: the build is not reproducible,
// and its artifact is large enough for a multipart upload) and 8 of keys of
// their own. Each ends in success or one clear error line, within the time
// bound, and every attestation left in the bucket names exactly the bytes
// beside it.
func TestManyRunnersOneStore(t *testing.T) {
	if testing.Short() {
		t.Skip("16 concurrent runs against versitygw; skipped with -short")
	}
	in := testenv.NewInstall(t)
	s3 := testservers.StartS3(t)
	s3.CreateBucket(t, "shared")
	in.Env = append(in.Env, "AWS_ACCESS_KEY_ID="+s3.AccessKey, "AWS_SECRET_ACCESS_KEY="+s3.SecretKey,
		"AWS_REGION="+s3.Region, "MMBUILD_S3_ENDPOINT="+s3.Endpoint)
	// 20 MiB of fresh random bytes: two parts of 16 MiB, other bytes each run.
	project := func(variant string) string {
		return engineProject(t, map[string]string{
			"Makefile": "all:\n\t@mkdir -p dist\n\thead -c 20971520 /dev/urandom > dist/big.bin\n\techo " + variant + " > dist/small.txt\n",
			"mmbuild.yaml": "handler: {id: make, params: [all]}\n" +
				"artifacts: {files: [dist/big.bin, dist/small.txt], destination: 's3://shared/app/'}\nprovenance: out/\n",
		})
	}
	type runner struct {
		dir  string
		args []string
		same bool
	}
	var runners []runner
	// The shared key's runners are clones of one commit, as CI checkouts
	// on several machines are.
	shared := project("shared")
	engineMustRun(t, in, shared, "plugins", "lock")
	writeFiles(t, shared, map[string]string{".gitignore": "dist/\nout/\nbuild.env\n"})
	engineCommitAll(t, shared, "shared")
	for i := range 16 {
		if i < 8 {
			dir := filepath.Join(t.TempDir(), "clone")
			engineGit(t, filepath.Dir(dir), "clone", "-q", shared, dir)
			runners = append(runners, runner{dir, []string{"run", "--force", "--json"}, true})
			continue
		}
		dir := project(fmt.Sprintf("own-%d", i))
		engineMustRun(t, in, dir, "plugins", "lock")
		runners = append(runners, runner{dir, []string{"run", "--json"}, false})
	}

	start := time.Now()
	results := make([]testenv.Result, len(runners))
	var wg sync.WaitGroup
	for i, r := range runners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = in.Run(r.dir, r.args...)
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if elapsed > 100*time.Second {
		t.Errorf("16 runs took %v, more than 100 s", elapsed)
	}

	keys := map[string]bool{}
	failed := 0
	for i, r := range results {
		if r.Code != 0 {
			failed++
			line := errorLine(t, r)
			// Only runs of the shared key may lose the race, and they say so.
			if !runners[i].same || !strings.Contains(line, "another run published this staging key at the same time") {
				t.Errorf("run %d (shared key %v) failed: %s", i, runners[i].same, line)
			}
			continue
		}
		var rep struct {
			StagingURL string `json:"staging_url"`
		}
		if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil {
			t.Fatalf("run %d: --json: %v\n%s", i, err, r.Stdout)
		}
		if runners[i].same {
			keys[rep.StagingURL] = true
		}
	}
	t.Logf("16 runs in %v: %d succeeded, %d refused an inconsistent destination", elapsed, len(results)-failed, failed)
	if len(keys) > 1 {
		t.Fatalf("the runs of one config reported %d staging URLs: the test proves nothing", len(keys))
	}
	if failed == 8 {
		t.Error("every run of the shared key failed: none left a consistent build")
	}

	// Every attestation in the bucket names the bytes beside it (the
	// posix backend keeps each object as a file under the bucket's folder).
	builds, err := filepath.Glob(filepath.Join(s3.Dir, "shared", "app", "*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(builds) != 9 {
		t.Errorf("%d builds in the bucket, want 9 (one shared key, 8 own)", len(builds))
	}
	for _, b := range builds {
		stmtPath := filepath.Join(b, "provenance.json")
		if !exists(stmtPath) {
			continue // an incomplete build, which no reader takes
		}
		st := engineReadStatement(t, stmtPath)
		if len(st.Subject) != 2 {
			t.Fatalf("%s: %d subjects, want 2", stmtPath, len(st.Subject))
		}
		for _, s := range st.Subject {
			data, err := os.ReadFile(filepath.Join(b, s.Name))
			if err != nil {
				t.Errorf("%s names %s, which is not there: %v", stmtPath, s.Name, err)
				continue
			}
			if got := sha256Hex(t, data); got != s.Digest["sha256"] {
				t.Errorf("%s names %s with sha256 %s; the bucket holds %s", stmtPath, s.Name, s.Digest["sha256"], got)
			}
		}
	}
}
