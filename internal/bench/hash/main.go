// Command hash compares the core's hashing (core/digest: one file, and many
// files in parallel) with sha256sum on the same files, in the same run.
//
//	go run ./internal/bench/hash [-size 512] [-n 5]
package main

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"time"

	"github.com/mmbuild/mmbuild/core/evidence/digest"
)

func main() {
	size := flag.Int("size", 512, "MiB per file")
	n := flag.Int("n", 5, "runs per measurement")
	flag.Parse()
	if err := run(int64(*size)<<20, *n); err != nil {
		fmt.Fprintln(os.Stderr, "hash bench:", err)
		os.Exit(1)
	}
}

func run(size int64, n int) error {
	dir, err := os.MkdirTemp("", "mmbuild-hash-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	files := []string{filepath.Join(dir, "a"), filepath.Join(dir, "b")}
	buf := make([]byte, 1<<20)
	for _, f := range files {
		out, err := os.Create(f)
		if err != nil {
			return err
		}
		for w := int64(0); w < size; w += int64(len(buf)) {
			_, _ = rand.Read(buf)
			if _, err := out.Write(buf); err != nil {
				return err
			}
		}
		if err := out.Close(); err != nil {
			return err
		}
	}
	cases := []struct {
		name  string
		bytes int64
		fn    func() error
	}{
		{"sha256sum, 1 file", size, func() error { return exec.Command("sha256sum", files[0]).Run() }},
		{"core/digest.File, 1 file", size, func() error { _, _, err := digest.File(files[0]); return err }},
		{"sha256sum, 2 files", 2 * size, func() error { return exec.Command("sha256sum", files...).Run() }},
		{"core/digest.Files, 2 files in parallel", 2 * size, func() error { _, err := digest.Files(context.Background(), files); return err }},
		{"core/digest.File sha256+sha512 one pass", size, func() error { _, _, err := digest.File(files[0], digest.SHA512); return err }},
	}
	times := make([][]time.Duration, len(cases))
	for i := 0; i < n+1; i++ {
		for c, tc := range cases {
			start := time.Now()
			if err := tc.fn(); err != nil {
				return fmt.Errorf("%s: %w", tc.name, err)
			}
			if i > 0 {
				times[c] = append(times[c], time.Since(start))
			}
		}
	}
	fmt.Printf("hashing %d MiB files (page cache warm), median of %d interleaved runs\n", size>>20, n)
	fmt.Printf("%-42s %10s %10s %8s\n", "what", "median", "MB/s", "vs sha256sum")
	for c, tc := range cases {
		m := median(times[c])
		base := median(times[0])
		if tc.bytes == 2*size {
			base = median(times[2])
		}
		fmt.Printf("%-42s %8.0fms %10.0f %7.2fx\n", tc.name, float64(m)/1e6, float64(tc.bytes)/m.Seconds()/1e6, float64(base)/float64(m))
	}
	return nil
}

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}
