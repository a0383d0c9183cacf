// Command bench measures mmbuild's fixed cost against the bare tools, in
// the same run: the median wall time of `mmbuild run` over bare `make` on
// the same build, in three shapes (make only; make + one 100 kB file
// material + one artifact published to a file destination; the same,
// signed with ed25519), and of witness on the signed shape when -witness
// names its binary. Runs are interleaved so that machine noise hits every
// case alike; the overheads are the medians of paired differences (each
// run minus the bare make of the same round). With -baseline naming the
// binaries of another build of mmbuild (an earlier commit's bin/), its three
// shapes run in the same rounds too, each in projects locked to its own
// plugins, and the signed shape's overheads are compared.
//
// Beside the wall time, each case's CPU time (user + system) is measured, of
// the command and of every process it started: on Linux the bench is the
// subreaper of the plugins mmbuild kills without reaping, and counts them.
// On a machine with few cores the CPU figure says what concurrency inside a
// run cannot win back.
//
//	go run ./internal/bench -bin ./bin [-n 30] [-witness /path/to/witness] [-baseline /path/to/old/bin]
package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

func main() {
	bin := flag.String("bin", "bin", "folder with mmbuild and the mmbuild-plugin-* binaries")
	n := flag.Int("n", 30, "runs per measurement")
	witness := flag.String("witness", os.Getenv("MMBUILD_BENCH_WITNESS"), "witness binary, for a side-by-side figure (default $MMBUILD_BENCH_WITNESS; none: skipped)")
	baseline := flag.String("baseline", "", "folder of another build's mmbuild and plugins, measured in the same rounds for a before/after figure (default: none)")
	flag.Parse()
	if err := run(*bin, *witness, *baseline, *n); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type benchCase struct {
	name string
	dir  string
	args []string
}

func run(bin, witness, baseline string, n int) error {
	bin, err := filepath.Abs(bin)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "mmbuild-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	env, cases, err := setup(dir, filepath.Join(bin, "mmbuild"), witness)
	if err != nil {
		return err
	}
	if baseline != "" {
		if baseline, err = filepath.Abs(baseline); err != nil {
			return err
		}
		old := filepath.Join(dir, "baseline")
		_, oldCases, err := setup(old, filepath.Join(baseline, "mmbuild"), "")
		if err != nil {
			return fmt.Errorf("baseline: %w", err)
		}
		for _, c := range oldCases[1:4] { // the three mmbuild run shapes
			c.name = "baseline: " + c.name
			cases = append(cases, c)
		}
	}
	if err := countOrphans(); err != nil {
		return fmt.Errorf("becoming the reaper of the plugins a run leaves: %w", err)
	}
	times := make([][]time.Duration, len(cases))
	cpu := make([][]time.Duration, len(cases))
	for i := 0; i < n+2; i++ {
		for c, tc := range cases {
			cmd := command(env, tc.dir, tc.args[0], tc.args[1:]...)
			start := time.Now()
			out, err := cmd.CombinedOutput()
			wall := time.Since(start)
			if err != nil {
				return fmt.Errorf("%s: %v\n%s", tc.name, err, out)
			}
			used, err := cpuTime(cmd)
			if err != nil {
				return fmt.Errorf("%s: %w", tc.name, err)
			}
			if i >= 2 { // two warm-up rounds
				times[c] = append(times[c], wall)
				cpu[c] = append(cpu[c], used)
			}
		}
	}
	report(cases, times, cpu, n)
	return nil
}

// setup lays out the projects and returns the environment and the cases,
// bare make first.
func setup(dir, mmbuild, witness string) ([]string, []benchCase, error) {
	home := filepath.Join(dir, "home")
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "XDG_CACHE_HOME=" + filepath.Join(home, "cache"),
		"XDG_DATA_HOME=" + filepath.Join(home, "data"), "MMBUILD_LOG_LEVEL=warn"}
	empty, full := filepath.Join(dir, "empty"), filepath.Join(dir, "full")
	material := strings.Repeat("0123456789abcdef", 100<<10/16) // 100 kB
	makefile := "build:\n\t@cp in.txt out.txt 2>/dev/null || echo 1 > out.txt\n"
	files := map[string]string{
		filepath.Join(empty, "Makefile"):     makefile,
		filepath.Join(empty, "mmbuild.yaml"): "handler: {id: make, params: [build]}\nartifacts: {files: [out.txt]}\nprovenance: out/\n",
		filepath.Join(full, "Makefile"):      makefile,
		filepath.Join(full, "in.txt"):        material,
		filepath.Join(dir, "material.bin"):   material,
		filepath.Join(full, "mmbuild.yaml"): "handler: {id: make, params: [build]}\n" +
			"materials: [{uri: \"file://" + dir + "/material.bin\"}]\n" +
			"artifacts: {files: [out.txt], destination: \"file://" + full + "/pub/\"}\nprovenance: out/\n",
	}
	for p, c := range files {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, nil, err
		}
		if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
			return nil, nil, err
		}
	}
	// Both projects are committed git work trees, as a CI checkout is: both
	// tools record the commit.
	for _, d := range []string{empty, full} {
		if err := gitCommit(d); err != nil {
			return nil, nil, err
		}
	}
	key := filepath.Join(dir, "ed25519.key")
	if err := writeKey(key); err != nil {
		return nil, nil, err
	}
	for _, d := range []string{empty, full} {
		if out, err := command(env, d, mmbuild, "plugins", "lock").CombinedOutput(); err != nil {
			return nil, nil, fmt.Errorf("plugins lock: %v\n%s", err, out)
		}
	}
	cases := []benchCase{
		{"make (bare)", full, []string{"make", "-s", "build"}},
		{"mmbuild run (make only)", empty, []string{mmbuild, "run", "--force"}},
		{"mmbuild run (make + file material + publish)", full, []string{mmbuild, "run", "--force"}},
		{"mmbuild run (the same, signed ed25519)", full, []string{mmbuild, "run", "--force", "--sign-key", key}},
		// The box's cost: the signed build without it, in the same rounds.
		{offCase, full, []string{mmbuild, "run", "--force", "--sign-key", key, "--isolation", "off"}},
	}
	if witness != "" {
		cases = append(cases, benchCase{"witness run (signed ed25519)", full,
			[]string{witness, "run", "-s", "build", "-k", key, "-o", filepath.Join(dir, "witness.json"), "--", "make", "-s", "build"}})
	}
	cases = append(cases,
		benchCase{"mmbuild plugins list", empty, []string{mmbuild, "plugins", "list"}},
		benchCase{"mmbuild version", empty, []string{mmbuild, "version"}})
	return env, append(cases, floorCases(filepath.Dir(mmbuild), empty)...), nil
}

// The box's floor: what the processes a boxed run starts beyond an
// unboxed one cost at the least on this machine, in the same rounds. An
// unboxed run serves make and file:// from one process of the local
// bundle; a boxed one must start the handler again, inside bubblewrap.
const (
	floorTrue   = "floor: a process (/bin/true)"
	floorBwrap  = "floor: bubblewrap around /bin/true (the box's namespaces)"
	floorPlugin = "floor: a cold Go plugin (mmbuild-plugin-make describe)"
)

func floorCases(bin, dir string) []benchCase {
	cases := []benchCase{
		{floorTrue, dir, []string{"/bin/true"}},
		{floorPlugin, dir, []string{filepath.Join(bin, "mmbuild-plugin-make"), "describe"}},
	}
	if bwrap, err := exec.LookPath("bwrap"); err == nil {
		cases = append(cases, benchCase{floorBwrap, dir, []string{bwrap, "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
			"--die-with-parent", "--new-session", "--ro-bind", "/usr", "/usr", "--symlink", "usr/bin", "/bin", "--symlink", "usr/lib", "/lib",
			"--symlink", "usr/lib64", "/lib64", "--ro-bind", "/etc", "/etc", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp", "/bin/true"}})
	}
	return cases
}

// offCase is the signed build run with --isolation off.
const offCase = "mmbuild run (the same, signed, --isolation off)"

// report prints each case's median and p90 wall time, the median of its
// paired overhead over the bare make of the same round, and the same for
// CPU time (user + system, of the command and every process it started,
// plugins included).
func report(cases []benchCase, times, cpu [][]time.Duration, n int) {
	fmt.Printf("mmbuild fixed cost, median of %d interleaved runs (2 warm-up rounds dropped)\n", n)
	fmt.Printf("%-58s %10s %10s %12s %10s %12s\n", "command", "median", "p90", "overhead", "cpu", "cpu overhead")
	overhead, cpuOverhead, medians := map[string]time.Duration{}, map[string]time.Duration{}, map[string]time.Duration{}
	for c, tc := range cases {
		medians[tc.name] = median(times[c])
		overhead[tc.name] = pairedOverhead(times[c], times[0])
		cpuOverhead[tc.name] = pairedOverhead(cpu[c], cpu[0])
		fmt.Printf("%-58s %8.1fms %8.1fms %+10.1fms %8.1fms %+10.1fms\n", tc.name, ms(median(times[c])), ms(percentile(times[c], 0.9)),
			ms(overhead[tc.name]), ms(median(cpu[c])), ms(cpuOverhead[tc.name]))
	}
	const signed = "mmbuild run (the same, signed ed25519)"
	m, mc := overhead[signed], cpuOverhead[signed]
	for c, tc := range cases {
		if tc.name != offCase {
			continue
		}
		for s, sc := range cases {
			if sc.name == signed {
				fmt.Printf("isolation: the box costs %+.1f ms a run (wall, median of paired differences to --isolation off), %+.1f ms of CPU\n",
					ms(pairedOverhead(times[s], times[c])), ms(pairedOverhead(cpu[s], cpu[c])))
			}
		}
	}
	if t, ok := medians[floorTrue]; ok {
		fmt.Printf("isolation's floor here: a process starts in %.1f ms, a cold Go plugin in %.1f ms, bubblewrap around a process in %.1f ms (medians)\n",
			ms(t), ms(medians[floorPlugin]), ms(medians[floorBwrap]))
	}
	if w, ok := overhead["witness run (signed ed25519)"]; ok && w > 0 {
		fmt.Printf("signed build: mmbuild's overhead over bare make is %.2fx witness's (%.1f ms vs %.1f ms)\n", float64(m)/float64(w), ms(m), ms(w))
		if wc := cpuOverhead["witness run (signed ed25519)"]; wc > 0 {
			fmt.Printf("signed build: mmbuild's CPU overhead is %.2fx witness's (%.1f ms vs %.1f ms)\n", float64(mc)/float64(wc), ms(mc), ms(wc))
		}
	}
	if b, ok := overhead["baseline: "+signed]; ok && b > 0 {
		fmt.Printf("signed build: mmbuild's overhead is %.2fx the baseline's (%.1f ms vs %.1f ms)\n", float64(m)/float64(b), ms(m), ms(b))
		if bc := cpuOverhead["baseline: "+signed]; bc > 0 {
			fmt.Printf("signed build: mmbuild's CPU overhead is %.2fx the baseline's (%.1f ms vs %.1f ms)\n", float64(mc)/float64(bc), ms(mc), ms(bc))
		}
	}
}

// pairedOverhead is the median of each run minus the bare run of its round.
func pairedOverhead(runs, bare []time.Duration) time.Duration {
	diffs := make([]time.Duration, len(runs))
	for i := range runs {
		diffs[i] = runs[i] - bare[i]
	}
	return median(diffs)
}

func gitCommit(dir string) error {
	if err := os.WriteFile(filepath.Join(dir, ".gitignore"), []byte("out.txt\nout/\npub/\nbuild.env\n"), 0o644); err != nil {
		return err
	}
	for _, args := range [][]string{{"init", "-q"}, {"add", "."}, {"-c", "user.name=bench", "-c", "user.email=bench@localhost", "commit", "-qm", "bench"}} {
		if out, err := command(nil, dir, "git", args...).CombinedOutput(); err != nil {
			return fmt.Errorf("git %v: %v\n%s", args, err, out)
		}
	}
	return nil
}

func writeKey(path string) error {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return err
	}
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
}

func command(env []string, dir, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	if env != nil {
		cmd.Env = append(append([]string(nil), env...), "PWD="+dir)
	}
	return cmd
}

func median(d []time.Duration) time.Duration { return percentile(d, 0.5) }

func percentile(d []time.Duration, p float64) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[int(p*float64(len(s)-1))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
