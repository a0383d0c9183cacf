// Command bench measures mmbuild's fixed cost against the bare tools, in
// the same run: the median wall time of `mmbuild run` on an empty make
// target against `make` alone, and of `mmbuild plugins list`. Runs are
// interleaved so that machine noise hits both sides alike.
//
//	go run ./internal/bench -bin ./bin [-n 30]
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"time"
)

func main() {
	bin := flag.String("bin", "bin", "folder with mmbuild and the mmbuild-plugin-* binaries")
	n := flag.Int("n", 30, "runs per measurement")
	flag.Parse()
	if err := run(*bin, *n); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(bin string, n int) error {
	bin, err := filepath.Abs(bin)
	if err != nil {
		return err
	}
	mmbuild := filepath.Join(bin, "mmbuild")
	dir, err := os.MkdirTemp("", "mmbuild-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	home := filepath.Join(dir, "home")
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "XDG_CACHE_HOME=" + filepath.Join(home, "cache"),
		"XDG_DATA_HOME=" + filepath.Join(home, "data"), "MMBUILD_LOG_LEVEL=warn"}

	empty := filepath.Join(dir, "empty")
	full := filepath.Join(dir, "full")
	files := map[string]string{
		filepath.Join(empty, "Makefile"):     "empty:\n\t@:\n",
		filepath.Join(empty, "VERSION"):      "1\n",
		filepath.Join(empty, "mmbuild.yaml"): "handler: {id: make, params: [empty]}\nartifacts: {files: [VERSION]}\nprovenance: out/\n",
		filepath.Join(full, "Makefile"):      "empty:\n\t@:\n",
		filepath.Join(full, "VERSION"):       "1\n",
		filepath.Join(full, "in.txt"):        "material\n",
		filepath.Join(full, "mmbuild.yaml"): "handler: {id: make, params: [empty]}\n" +
			"materials: [{uri: \"file://" + full + "/in.txt\"}]\n" +
			"artifacts: {files: [VERSION], destination: \"file://" + full + "/pub/\"}\nprovenance: out/\n",
	}
	for p, c := range files {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
			return err
		}
	}
	for _, d := range []string{empty, full} {
		if out, err := command(env, d, mmbuild, "plugins", "lock").CombinedOutput(); err != nil {
			return fmt.Errorf("plugins lock: %v\n%s", err, out)
		}
	}

	cases := []struct {
		name string
		dir  string
		args []string
	}{
		{"make (bare)", empty, []string{"make", "-s", "empty"}},
		{"mmbuild run (make only)", empty, []string{mmbuild, "run"}},
		{"mmbuild run (make + file material + publish)", full, []string{mmbuild, "run", "--force"}},
		{"mmbuild plugins list", empty, []string{mmbuild, "plugins", "list"}},
		{"mmbuild version", empty, []string{mmbuild, "version"}},
	}
	times := make([][]time.Duration, len(cases))
	for i := 0; i < n+2; i++ {
		for c, tc := range cases {
			start := time.Now()
			if out, err := command(env, tc.dir, tc.args[0], tc.args[1:]...).CombinedOutput(); err != nil {
				return fmt.Errorf("%s: %v\n%s", tc.name, err, out)
			}
			if i >= 2 { // two warm-up rounds
				times[c] = append(times[c], time.Since(start))
			}
		}
	}
	base := median(times[0])
	fmt.Printf("mmbuild fixed cost, median of %d interleaved runs (2 warm-up rounds dropped)\n", n)
	fmt.Printf("%-48s %10s %10s %8s\n", "command", "median", "p90", "ratio")
	for c, tc := range cases {
		m := median(times[c])
		fmt.Printf("%-48s %8.1fms %8.1fms %7.2fx\n", tc.name, ms(m), ms(percentile(times[c], 0.9)), float64(m)/float64(base))
	}
	fmt.Printf("overhead of mmbuild run over bare make: %.1f ms (make only), %.1f ms (with material + publish)\n",
		ms(median(times[1])-base), ms(median(times[2])-base))
	return nil
}

func command(env []string, dir, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(append([]string(nil), env...), "PWD="+dir)
	return cmd
}

func median(d []time.Duration) time.Duration { return percentile(d, 0.5) }

func percentile(d []time.Duration, p float64) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[int(p*float64(len(s)-1))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
