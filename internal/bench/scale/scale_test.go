package scale

import (
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mmbuild/mmbuild/internal/testservers"
)

// TestBenchScale runs `mmbuild run --force` (publish) and `mmbuild run`
// (a cache hit) of a build whose artifacts are one 1 GiB file, and of one
// whose artifacts are 10,000 files of 4 KiB, to S3 and to file://, against
// the bare tools on the same data in the same rounds: `rclone copyto` /
// `rclone copy` for S3, `cp` (`cp -r`) then `sha256sum` for file://. It
// prints each case's median and the ratios the targets name. It
// runs only when asked:
//
//	MMBUILD_BENCH=1 MMBUILD_BENCH_BIN=$PWD/bin go test ./internal/bench/scale -run '^TestBenchScale$' -count=1 -v -timeout 60m
//
// MMBUILD_BENCH_ROUNDS sets the rounds (default 3), MMBUILD_BENCH_SIZE the
// large file's size in MiB (default 1024), MMBUILD_BENCH_FILES the number
// of small files (default 10000), MMBUILD_BENCH_CASES a comma-separated
// subset of the shapes (big-s3, big-file, many-s3, many-file).
func TestBenchScale(t *testing.T) {
	if os.Getenv("MMBUILD_BENCH") == "" {
		t.Skip("a benchmark: set MMBUILD_BENCH=1 to run it")
	}
	bin := os.Getenv("MMBUILD_BENCH_BIN")
	if bin == "" {
		t.Fatal("MMBUILD_BENCH_BIN must name the folder of mmbuild and its plugins (make build's bin/)")
	}
	mmbuild := filepath.Join(bin, "mmbuild")
	rounds := testservers.EnvInt(t, "MMBUILD_BENCH_ROUNDS", 3)
	size := int64(testservers.EnvInt(t, "MMBUILD_BENCH_SIZE", 1024)) << 20
	nfiles := testservers.EnvInt(t, "MMBUILD_BENCH_FILES", 10000)
	want := map[string]bool{}
	for _, c := range strings.Split(os.Getenv("MMBUILD_BENCH_CASES"), ",") {
		if c != "" {
			want[c] = true
		}
	}
	shape := func(name string) bool { return len(want) == 0 || want[name] }

	rclone := testservers.Tool(t, "rclone")
	srv := testservers.StartS3(t)
	srv.CreateBucket(t, "bench")
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "XDG_CACHE_HOME=" + filepath.Join(home, "cache"),
		"XDG_DATA_HOME=" + filepath.Join(home, "data"), "MMBUILD_LOG_LEVEL=warn", "RCLONE_CONFIG=/dev/null",
		"RCLONE_CONFIG_BENCH_TYPE=s3", "RCLONE_CONFIG_BENCH_PROVIDER=Other",
		"RCLONE_CONFIG_BENCH_ACCESS_KEY_ID=" + srv.AccessKey, "RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY=" + srv.SecretKey,
		"RCLONE_CONFIG_BENCH_REGION=" + srv.Region, "RCLONE_CONFIG_BENCH_ENDPOINT=" + srv.Endpoint,
		"RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE=true"}
	for k, v := range srv.Env() {
		env = append(env, k+"="+v)
	}
	// rclone with the plugin's part size and parallelism, always copying.
	rcloneFlags := "--ignore-times --s3-chunk-size 16M --s3-upload-concurrency 4"

	var cases []benchCase
	add := func(name string, dir string, args ...string) {
		cases = append(cases, benchCase{name: name, dir: dir, args: args})
	}
	big := project(t, dir, "big", func(root string) { writeRandom(t, filepath.Join(root, "dist", "big.bin"), size, 1) }, "dist/big.bin")
	many := project(t, dir, "many", func(root string) {
		for i := range nfiles {
			writeRandom(t, filepath.Join(root, "dist", "files", fmt.Sprintf("f%05d.bin", i)), 4096, uint64(i))
		}
	}, "dist/files/*")
	fileDest := filepath.Join(dir, "published")
	if shape("big-s3") {
		p := configure(t, env, mmbuild, big, "s3://bench/big/")
		add("big-s3: mmbuild run --force", p, mmbuild, "run", "--force")
		add("big-s3: mmbuild run (cache hit)", p, mmbuild, "run")
		add("big-s3: rclone copyto", p, "sh", "-c", "exec "+rclone+" copyto dist/big.bin bench:bench/rclone/big.bin "+rcloneFlags)
	}
	if shape("big-file") {
		p := configure(t, env, mmbuild, big, "file://"+fileDest+"/big/")
		add("big-file: mmbuild run --force", p, mmbuild, "run", "--force")
		add("big-file: mmbuild run (cache hit)", p, mmbuild, "run")
		add("big-file: cp + sha256sum", p, "sh", "-c", "rm -rf "+dir+"/cp && mkdir "+dir+"/cp && cp dist/big.bin "+dir+"/cp/ && sha256sum dist/big.bin >/dev/null")
		add("big-file: sha256sum", p, "sh", "-c", "sha256sum dist/big.bin >/dev/null")
	}
	if shape("many-s3") {
		p := configure(t, env, mmbuild, many, "s3://bench/many/")
		add("many-s3: mmbuild run --force", p, mmbuild, "run", "--force")
		add("many-s3: mmbuild run (cache hit)", p, mmbuild, "run")
		add("many-s3: rclone copy", p, "sh", "-c", "exec "+rclone+" copy dist/files bench:bench/rclone/files "+rcloneFlags)
		add("many-s3: rclone lsjson --hash", p, "sh", "-c", "exec "+rclone+" lsjson --hash bench:bench/rclone/files >/dev/null")
	}
	if shape("many-file") {
		p := configure(t, env, mmbuild, many, "file://"+fileDest+"/many/")
		add("many-file: mmbuild run --force", p, mmbuild, "run", "--force")
		add("many-file: mmbuild run (cache hit)", p, mmbuild, "run")
		add("many-file: cp -r + sha256sum", p, "sh", "-c", "rm -rf "+dir+"/cpr && cp -r dist/files "+dir+"/cpr && sha256sum dist/files/* >/dev/null")
	}

	times := make([][]time.Duration, len(cases))
	for round := range rounds + 1 {
		for i, c := range cases {
			cmd := exec.Command(c.args[0], c.args[1:]...)
			cmd.Dir, cmd.Env = c.dir, append(env, "PWD="+c.dir)
			start := time.Now()
			out, err := cmd.CombinedOutput()
			d := time.Since(start)
			if err != nil {
				t.Fatalf("%s: %v\n%s", c.name, err, out)
			}
			if round > 0 { // one warm-up round: page cache, first publish
				times[i] = append(times[i], d)
			}
		}
	}
	med := map[string]time.Duration{}
	fmt.Printf("\nmmbuild at scale, median of %d interleaved rounds (1 warm-up round dropped); 1 large file of %d MiB, %d files of 4 KiB\n", rounds, size>>20, nfiles)
	fmt.Printf("%-44s %10s %10s\n", "command", "median", "max")
	for i, c := range cases {
		med[c.name] = median(times[i])
		fmt.Printf("%-44s %9.3fs %9.3fs\n", c.name, med[c.name].Seconds(), slicesMax(times[i]).Seconds())
	}
	fmt.Println("\nagainst the targets:")
	ratio := func(what, a, b string, target float64) {
		if med[a] == 0 || med[b] == 0 {
			return
		}
		r := float64(med[a]) / float64(med[b])
		fmt.Printf("  %-48s %5.2fx (target <= %.1fx) %s\n", what, r, target, verdict(r <= target))
	}
	abs := func(what, a string, target time.Duration) {
		if med[a] == 0 {
			return
		}
		fmt.Printf("  %-48s %5.3fs (target <= %.1fs) %s\n", what, med[a].Seconds(), target.Seconds(), verdict(med[a] <= target))
	}
	ratio("1 GiB -> S3 / rclone copyto", "big-s3: mmbuild run --force", "big-s3: rclone copyto", 1.0)
	abs("1 GiB S3 cache hit", "big-s3: mmbuild run (cache hit)", 200*time.Millisecond)
	ratio("1 GiB -> file:// / cp + sha256sum", "big-file: mmbuild run --force", "big-file: cp + sha256sum", 2.0)
	ratio("1 GiB file:// cache hit / sha256sum", "big-file: mmbuild run (cache hit)", "big-file: sha256sum", 2.0)
	ratio("10,000 files -> S3 / rclone copy", "many-s3: mmbuild run --force", "many-s3: rclone copy", 1.0)
	abs("10,000 files S3 cache hit", "many-s3: mmbuild run (cache hit)", 2*time.Second)
	ratio("10,000 files -> file:// / cp -r + sha256sum", "many-file: mmbuild run --force", "many-file: cp -r + sha256sum", 3.0)
	abs("10,000 files file:// cache hit", "many-file: mmbuild run (cache hit)", 2*time.Second)
}

type benchCase struct {
	name string
	dir  string
	args []string
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

// project lays out a committed work tree whose artifacts fill makes (once,
// outside the build: the builder does nothing) and glob names.
func project(t *testing.T, dir, name string, fill func(root string), glob string) string {
	t.Helper()
	root := filepath.Join(dir, name)
	fill(root)
	write(t, filepath.Join(root, "Makefile"), "build:\n\t@true\n")
	write(t, filepath.Join(root, ".gitignore"), "dist/\nout/\nbuild.env\n")
	write(t, filepath.Join(root, "glob"), glob)
	return root
}

// configure copies the project src into a new folder with a config
// publishing its artifacts to dest, commits it and locks the plugins.
func configure(t *testing.T, env []string, mmbuild, src, dest string) string {
	t.Helper()
	root := src + "-" + strings.NewReplacer(":", "", "/", "-").Replace(dest)
	run(t, env, "", "cp", "-al", src, root) // hard links: the data once on disk
	glob, err := os.ReadFile(filepath.Join(root, "glob"))
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(root, "mmbuild.yaml"), "handler: {id: make, params: [build]}\n"+
		"artifacts: {files: [\""+string(glob)+"\"], destination: \""+dest+"\"}\nprovenance: out/\n")
	run(t, env, root, "git", "init", "-q")
	run(t, env, root, "git", "add", ".")
	run(t, env, root, "git", "-c", "user.name=bench", "-c", "user.email=bench@localhost", "commit", "-qm", "bench")
	run(t, env, root, mmbuild, "plugins", "lock")
	return root
}

func run(t *testing.T, env []string, dir, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir, cmd.Env = dir, env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}

func write(t *testing.T, p, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeRandom(t *testing.T, p string, size int64, seed uint64) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	var key [32]byte
	key[0], key[1] = byte(seed), byte(seed>>8)
	if _, err := io.Copy(f, io.LimitReader(rand.NewChaCha8(key), size)); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func slicesMax(d []time.Duration) time.Duration {
	var m time.Duration
	for _, x := range d {
		m = max(m, x)
	}
	return m
}
