package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/mmbuild/mmbuild/internal/testservers"
	"github.com/mmbuild/mmbuild/sdk/sdktest"
	"github.com/mmbuild/mmbuild/sdk/storage"
)

// TestBenchTransfer pushes and pulls one large image through the real
// plugin binary and through crane, on the same loopback registry in the
// same run. It runs only when asked:
//
//	cd plugins/storage-oci && MMBUILD_BENCH=1 go test -run '^TestBenchTransfer$' -count=1 -v -timeout 30m .
//
// MMBUILD_BENCH_SIZE sets the layer's size in MiB (default 100) and
// MMBUILD_BENCH_ROUNDS the rounds (default 3; the median is shown).
//
// Push: the plugin puts the image's OCI layout as a tree (every blob a file
// of the artifact), crane pushes the same layout as an image; each round to
// a new repository, so no blob is already there. Pull: the plugin gets the
// image by digest as an OCI layout, crane pulls it with --format oci.
func TestBenchTransfer(t *testing.T) {
	if os.Getenv("MMBUILD_BENCH") == "" {
		t.Skip("a benchmark: set MMBUILD_BENCH=1 to run it")
	}
	size := testservers.EnvInt(t, "MMBUILD_BENCH_SIZE", 100) << 20
	rounds := testservers.EnvInt(t, "MMBUILD_BENCH_ROUNDS", 3)
	bin := pluginBinary(t)
	crane := testservers.Crane(t)
	noDockerConfig(t)
	reg := testservers.StartRegistry(t)
	st := sdktest.Start(t, bin).Storage()

	// One image of one incompressible layer, as an OCI layout on disk.
	img, err := random.Image(int64(size), 1)
	if err != nil {
		t.Fatal(err)
	}
	img = mutate.MediaType(img, types.OCIManifestSchema1)
	src := filepath.Join(t.TempDir(), "layout")
	lp, err := layout.Write(src, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := lp.AppendImage(img); err != nil {
		t.Fatal(err)
	}
	digest, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}

	run := func(name string, args ...string) {
		t.Helper()
		cmd := exec.Command(name, args...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
	}
	timed := func(f func()) time.Duration {
		start := time.Now()
		f()
		return time.Since(start)
	}
	var pushPlugin, pushCrane, pullPlugin, pullCrane []time.Duration
	for i := range rounds {
		pushPlugin = append(pushPlugin, timed(func() {
			u := fmt.Sprintf("oci://%s/bench-plugin-%d:v1", reg.Host, i)
			if _, err := st.Put(t.Context(), &storage.PutRequest{SourcePath: src, URL: u}); err != nil {
				t.Fatalf("plugin Put %s: %v", u, err)
			}
		}))
		ref := fmt.Sprintf("%s/bench-crane-%d:v1", reg.Host, i)
		pushCrane = append(pushCrane, timed(func() { run(crane, "push", "--insecure", src, ref) }))

		dest := filepath.Join(t.TempDir(), "plugin")
		u := fmt.Sprintf("oci://%s/bench-crane-%d@%s", reg.Host, i, digest)
		pullPlugin = append(pullPlugin, timed(func() {
			if _, err := st.Get(t.Context(), &storage.GetRequest{URL: u, DestPath: dest}); err != nil {
				t.Fatalf("plugin Get %s: %v", u, err)
			}
		}))
		pullCrane = append(pullCrane, timed(func() {
			run(crane, "pull", "--insecure", "--format", "oci", fmt.Sprintf("%s/bench-crane-%d@%s", reg.Host, i, digest), filepath.Join(t.TempDir(), "crane"))
		}))
	}
	mib := float64(size) / (1 << 20)
	for _, row := range []struct {
		op             string
		plugin, direct []time.Duration
	}{{"push", pushPlugin, pushCrane}, {"pull", pullPlugin, pullCrane}} {
		p, c := median(row.plugin), median(row.direct)
		t.Logf("%s %.0f MiB: plugin %v (%.0f MiB/s), crane %v (%.0f MiB/s), ratio %.2f (median of %d)",
			row.op, mib, p.Round(time.Millisecond), mib/p.Seconds(), c.Round(time.Millisecond), mib/c.Seconds(), p.Seconds()/c.Seconds(), rounds)
	}
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}
