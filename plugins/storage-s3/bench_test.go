package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"

	"github.com/mmbuild/mmbuild/internal/testservers"
	"github.com/mmbuild/mmbuild/sdk/host"
	"github.com/mmbuild/mmbuild/sdk/storage"
)

// TestBenchTransfer measures a Put and a Get of one large object through
// the real plugin binary, against rclone, on the same loopback versitygw in
// the same run, and the plugin's peak memory. It runs only when asked:
//
//	cd plugins/storage-s3 && MMBUILD_BENCH=1 go test -run '^TestBenchTransfer$' -count=1 -v -timeout 30m .
//
// MMBUILD_BENCH_SIZE sets the object size in MiB (default 1024) and
// MMBUILD_BENCH_ROUNDS the rounds (default 3; the median is shown). rclone is
// found by testservers.Tool (.ci/install-test-servers.sh --bench installs it).
func TestBenchTransfer(t *testing.T) {
	if os.Getenv("MMBUILD_BENCH") == "" {
		t.Skip("a benchmark: set MMBUILD_BENCH=1 to run it")
	}
	size := testservers.EnvInt(t, "MMBUILD_BENCH_SIZE", 1024) << 20
	rounds := testservers.EnvInt(t, "MMBUILD_BENCH_ROUNDS", 3)
	rclone := testservers.Tool(t, "rclone")
	bin := pluginBinary(t)

	srv := testservers.StartS3(t)
	srv.SetEnv(t)
	srv.CreateBucket(t, "bench")
	dir := t.TempDir()
	src, sum := benchFile(t, dir, size)

	// The plugin, started as the core starts it, with its pid at hand.
	cmd := exec.Command(bin)
	cfg := host.ClientConfig(cmd)
	cfg.Logger = hclog.New(&hclog.LoggerOptions{Name: "plugin", Output: os.Stderr, Level: hclog.Warn})
	client := goplugin.NewClient(cfg)
	t.Cleanup(client.Kill)
	rpc, err := client.Client()
	if err != nil {
		t.Fatal(err)
	}
	conn, err := host.Dispense(rpc)
	if err != nil {
		t.Fatal(err)
	}
	st := conn.Storage()
	pid := cmd.Process.Pid

	rcloneEnv := append(os.Environ(),
		"RCLONE_CONFIG=/dev/null",
		"RCLONE_CONFIG_BENCH_TYPE=s3",
		"RCLONE_CONFIG_BENCH_PROVIDER=Other",
		"RCLONE_CONFIG_BENCH_ACCESS_KEY_ID="+srv.AccessKey,
		"RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY="+srv.SecretKey,
		"RCLONE_CONFIG_BENCH_REGION="+srv.Region,
		"RCLONE_CONFIG_BENCH_ENDPOINT="+srv.Endpoint,
		"RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE=true",
	)
	// The same part size and parallelism as the plugin's defaults; always
	// transfer, even when the destination looks the same.
	rcloneFlags := []string{"--ignore-times", "--s3-chunk-size", "16M", "--s3-upload-concurrency", "4",
		"--multi-thread-streams", "4", "--multi-thread-chunk-size", "16M", "--multi-thread-cutoff", "16M"}
	runRclone := func(args ...string) (time.Duration, int64) {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
		defer cancel()
		c := exec.CommandContext(ctx, rclone, append(append([]string{"copyto"}, args...), rcloneFlags...)...)
		c.Env = rcloneEnv
		start := time.Now()
		if out, err := c.CombinedOutput(); err != nil {
			t.Fatalf("rclone %v: %v\n%s", args, err, out)
		}
		return time.Since(start), c.ProcessState.SysUsage().(*syscall.Rusage).Maxrss << 10
	}

	var pPut, pGet, rPut, rGet []time.Duration
	var pPutRSS, pGetRSS, rPutRSS, rGetRSS int64
	dest := filepath.Join(dir, "dest")
	checkDest := func(who string, round int) {
		if round == 0 && fileSum(t, dest) != sum {
			t.Fatalf("%s's download differs from the source", who)
		}
		os.Remove(dest)
	}
	pluginPut := func(round int) {
		resetPeak(t, pid)
		start := time.Now()
		if _, err := st.Put(t.Context(), &storage.PutRequest{SourcePath: src, URL: "s3://bench/plugin/object"}); err != nil {
			t.Fatalf("plugin Put: %v", err)
		}
		pPut = append(pPut, time.Since(start))
		pPutRSS = max(pPutRSS, peakRSS(t, pid))
	}
	pluginGet := func(round int) {
		resetPeak(t, pid)
		start := time.Now()
		if _, err := st.Get(t.Context(), &storage.GetRequest{URL: "s3://bench/plugin/object", DestPath: dest}); err != nil {
			t.Fatalf("plugin Get: %v", err)
		}
		pGet = append(pGet, time.Since(start))
		pGetRSS = max(pGetRSS, peakRSS(t, pid))
		checkDest("the plugin", round)
	}
	rclonePut := func(round int) {
		d, rss := runRclone(src, "bench:bench/rclone/object")
		rPut, rPutRSS = append(rPut, d), max(rPutRSS, rss)
	}
	rcloneGet := func(round int) {
		d, rss := runRclone("bench:bench/rclone/object", dest)
		rGet, rGetRSS = append(rGet, d), max(rGetRSS, rss)
		checkDest("rclone", round)
	}
	// Runs alternate which tool goes first; each starts with no dirty
	// pages left by the one before.
	for round := range rounds {
		steps := []func(int){pluginPut, rclonePut, pluginGet, rcloneGet}
		if round%2 == 1 {
			steps = []func(int){rclonePut, pluginPut, rcloneGet, pluginGet}
		}
		for _, step := range steps {
			syscall.Sync()
			step(round)
		}
		t.Logf("round %d: plugin put %v get %v, rclone put %v get %v", round+1, pPut[round], pGet[round], rPut[round], rGet[round])
	}

	rcloneName := "rclone"
	if out, err := exec.Command(rclone, "version").Output(); err == nil {
		rcloneName, _, _ = strings.Cut(string(out), "\n") // "rclone v1.76.0"
	}
	mbps := func(d time.Duration) float64 { return float64(size) / 1e6 / d.Seconds() }
	var b strings.Builder
	fmt.Fprintf(&b, "\nS3 transfer of one %d MiB object, loopback versitygw %s, median of %d rounds\n", size>>20, testservers.VersityGWVersion, rounds)
	fmt.Fprintf(&b, "%-4s %22s %22s %14s\n", "op", "mmbuild-plugin-s3", rcloneName, "plugin/rclone")
	for _, row := range []struct {
		op     string
		p, r   []time.Duration
		pm, rm int64
	}{{"put", pPut, rPut, pPutRSS, rPutRSS}, {"get", pGet, rGet, pGetRSS, rGetRSS}} {
		p, r := median(row.p), median(row.r)
		fmt.Fprintf(&b, "%-4s %10.0f MB/s %5.2fs %10.0f MB/s %5.2fs %13.2fx\n", row.op, mbps(p), p.Seconds(), mbps(r), r.Seconds(), mbps(p)/mbps(r))
	}
	fmt.Fprintf(&b, "peak RSS  plugin: put %d MiB, get %d MiB (VmHWM)   rclone: put %d MiB, get %d MiB (maxrss)\n",
		pPutRSS>>20, pGetRSS>>20, rPutRSS>>20, rGetRSS>>20)
	fmt.Fprintf(&b, "rclone flags: %s\n", strings.Join(rcloneFlags, " "))
	fmt.Print(b.String())
}

// benchFile writes size pseudo-random bytes and returns the path and sum.
func benchFile(t *testing.T, dir string, size int) (string, [32]byte) {
	p := filepath.Join(dir, "source.bin")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(rand.NewChaCha8([32]byte{1}), int64(size))); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return p, [32]byte(h.Sum(nil))
}

func fileSum(t *testing.T, p string) [32]byte {
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return [32]byte(h.Sum(nil))
}

// resetPeak resets the peak RSS the kernel keeps for pid (VmHWM).
func resetPeak(t *testing.T, pid int) {
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0); err != nil {
		t.Logf("cannot reset the peak RSS of %d: %v (figures are peaks since start)", pid, err)
	}
}

// peakRSS reads VmHWM of pid, in bytes.
func peakRSS(t *testing.T, pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc/pid/status")
	return 0
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}
