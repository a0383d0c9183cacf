package e2e

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/mmbuild/mmbuild/internal/testenv"
	"github.com/mmbuild/mmbuild/internal/testservers"
)

// TestGraphFromStagingURLs draws the example pipeline from its staging
// URLs, read through the storage plugins the project pins, with the store
// on file:// and on S3 (versitygw): two builds, the webapp's verified with
// the demo key and the server's failed (unsigned), chained by the webapp
// tarball, each read from the provenance.intoto.jsonl published at its
// staging URL. A staging URL that holds no build fails in one line.
func TestGraphFromStagingURLs(t *testing.T) {
	t.Parallel()
	for _, store := range []string{"file", "s3"} {
		t.Run(store, func(t *testing.T) {
			in := testenv.NewInstall(t)
			dir := pipelineExample(t, in)
			if store == "s3" {
				s3 := testservers.StartS3(t)
				s3.CreateBucket(t, "pipeline")
				for k, v := range s3.Env() {
					in.Env = append(in.Env, k+"="+v)
				}
				in.Env = append(in.Env, "MMBUILD_S3_ENDPOINT="+s3.Endpoint, "MMBUILD_STORE=s3://pipeline")
			}
			r := engineMustRun(t, in, dir, "pipeline", "run", "pipeline.yaml", "--json")
			var rep enginePipelineReport
			if err := json.NewDecoder(strings.NewReader(r.Stdout)).Decode(&rep); err != nil || len(rep.Builds) != 2 {
				t.Fatalf("pipeline run --json: %v\n%s", err, r.Stdout)
			}
			webapp, server := rep.Builds[0].StagingURL, rep.Builds[1].StagingURL
			if !strings.HasPrefix(webapp, store+"://") || !strings.HasPrefix(server, store+"://") {
				t.Fatalf("staging URLs %s and %s are not on the %s store", webapp, server, store)
			}
			g := drawJSON(t, in, dir, "graph", "--key", "keys/demo.pub", webapp, server)
			want := map[string]string{webapp + "/provenance.intoto.jsonl": "verified", server + "/provenance.intoto.jsonl": "failed"}
			kind := map[string]string{}
			for _, n := range g.Nodes {
				kind[n.ID] = n.Kind
				if n.Kind != "build" {
					continue
				}
				file := strings.Fields(n.File)[0]
				if status, ok := want[file]; !ok || n.Status != status {
					t.Errorf("build from %s is %s (%s); want one of %v", n.File, n.Status, n.Reason, want)
				}
				delete(want, file)
			}
			if len(want) > 0 {
				t.Errorf("no build node read from %v: %+v", want, g.Nodes)
			}
			chained := false
			for _, e := range g.Edges {
				chained = chained || kind[e.From] == "artifact" && kind[e.To] == "build" && strings.HasPrefix(e.Digest, "sha256:")
			}
			if !chained {
				t.Errorf("the webapp's artifact is no material of the server build: %+v", g.Edges)
			}

			empty := strings.TrimSuffix(webapp, "/") + "-nothing-here"
			bad := in.Run(dir, "graph", "--key", "keys/demo.pub", empty)
			if line := errorLine(t, bad); bad.Code == 0 || !strings.Contains(line, "reading staging URL "+empty+": no complete build there (no provenance.json)") {
				t.Errorf("a staging URL without a build: exit %d, %q", bad.Code, line)
			}
		})
	}
}
