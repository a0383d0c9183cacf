package main

import (
	"crypto"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/anchore/syft/syft"
	"github.com/anchore/syft/syft/cataloging/filecataloging"
	"github.com/anchore/syft/syft/file"

	"github.com/mmbuild/mmbuild/plugins/sbom-syft/syftcat"
	"github.com/mmbuild/mmbuild/sdk/sbom"
	"github.com/mmbuild/mmbuild/sdk/sdktest"
)

// TestBenchCatalog times the cataloguing of a 100 MiB tar.gz (400 files of
// random data and an npm lock file) three ways, interleaved, and prints the
// medians:
//
//   - plugin: the built binary, over the plugin protocol, as the core runs
//     it (the process started once, as in a run);
//
//   - in-process: the same Cataloger, called directly;
//
//   - syft alone: syft on the same file the way its own users run it on an
//     archive (its file source unpacks it; its file cataloger hashes every
//     file with sha256), with the same package configuration.
//
//     MMBUILD_BENCH=1 GOWORK=off go test -run '^TestBenchCatalog$' -count=1 -v .
//
// MMBUILD_BENCH_ROUNDS sets the rounds (default 5).
func TestBenchCatalog(t *testing.T) {
	if os.Getenv("MMBUILD_BENCH") != "1" {
		t.Skip("a benchmark: set MMBUILD_BENCH=1")
	}
	rounds := 5
	if v := os.Getenv("MMBUILD_BENCH_ROUNDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("MMBUILD_BENCH_ROUNDS=%q", v)
		}
		rounds = n
	}
	bin := pluginBinary(t)

	const nFiles, fileSize = 400, 256 << 10
	files := map[string][]byte{"web/package-lock.json": []byte(`{"name":"web","lockfileVersion":3,"packages":{"":{"name":"web"},"node_modules/left-pad":{"version":"1.3.0"}}}`)}
	for i := range nFiles {
		b := make([]byte, fileSize)
		rand.Read(b)
		files[fmt.Sprintf("data/%03d/blob-%04d.bin", i%20, i)] = b
	}
	path := filepath.Join(t.TempDir(), "big.tar.gz")
	tarGz(t, path, files)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("artifact: %s, %.1f MiB, %d files", filepath.Base(path), float64(fi.Size())/(1<<20), len(files))

	start := time.Now()
	conn := sdktest.Start(t, bin)
	if _, err := conn.Info(t.Context()); err != nil {
		t.Fatal(err)
	}
	startup := time.Since(start)
	req := &sbom.CatalogRequest{CatalogerID: "syft", Name: "big.tar.gz", Path: path}
	count := func(c sbom.Cataloger) (int, int) {
		_, f, p, err := catalog(t, c, req)
		if err != nil {
			t.Fatal(err)
		}
		return len(f), len(p)
	}
	alone := func() (int, int) {
		src, err := syft.GetSource(t.Context(), path, syft.DefaultGetSourceConfig().WithSources("file"))
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		cfg := syftcat.SyftConfig("").WithFilesConfig(filecataloging.DefaultConfig().WithSelection(file.AllFilesSelection).WithHashers(crypto.SHA256))
		s, err := syft.CreateSBOM(t.Context(), src, cfg)
		if err != nil {
			t.Fatal(err)
		}
		return len(s.Artifacts.FileDigests), s.Artifacts.Packages.PackageCount()
	}
	ways := []struct {
		name string
		run  func() (int, int)
		took []time.Duration
	}{
		{name: "plugin (gRPC, own process)", run: func() (int, int) { return count(conn.Cataloger()) }},
		{name: "in-process Cataloger", run: func() (int, int) { return count(syftcat.New()) }},
		{name: "syft alone (file source)", run: alone},
	}
	for r := range rounds {
		for i := range ways {
			w := &ways[i]
			t0 := time.Now()
			nf, np := w.run()
			w.took = append(w.took, time.Since(t0))
			if r == 0 {
				t.Logf("%s: %d files, %d packages", w.name, nf, np)
			}
		}
	}
	median := func(d []time.Duration) time.Duration {
		s := slices.Clone(d)
		slices.Sort(s)
		return s[len(s)/2]
	}
	base := median(ways[2].took)
	fmt.Printf("cataloguing a %.0f MiB tar.gz (%d files), median of %d rounds (plugin start-up, once per run: %v):\n",
		float64(fi.Size())/(1<<20), len(files), rounds, startup.Round(time.Millisecond))
	for _, w := range ways {
		m := median(w.took)
		fmt.Printf("  %-28s %8v  (%.2fx syft alone)  all: %v\n", w.name, m.Round(time.Millisecond), float64(m)/float64(base), roundAll(w.took))
	}
}

func roundAll(d []time.Duration) []time.Duration {
	out := make([]time.Duration, len(d))
	for i, v := range d {
		out[i] = v.Round(10 * time.Millisecond)
	}
	return out
}
